"""Mock test sessions and their turns: the examiner domain (``shared.exam``) over HTTP.

``service`` creates, lists, resumes and finishes sessions; ``turns`` takes one answer;
``lifecycle`` ends them (idle, finished with one session-finished event). Documents are
described in ``documents``, the API in ``models``. Nothing here imports a Google client.
"""
