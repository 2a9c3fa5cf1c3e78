"""The local stack: emulators for every Google service we use, and the functions on one port.

``python -m devstack`` (what ``make run`` calls) starts the Firestore and Pub/Sub emulators
from the gcloud CLI, gcp-storage-emulator and the Firebase Auth emulator, provisions buckets,
topics and push subscriptions, then serves every function of ``functions/catalog.py``
behind one local port. The test harness (``tests/conftest.py``) starts the same ``Stack`` on
free ports with a throwaway data directory.

Modules: ``config`` (ports, paths, environment), ``prereqs`` (what must be installed),
``process`` (process groups and their logs), ``emulators`` (one class per service),
``provision`` (buckets, topics, subscriptions), ``routing`` and ``server`` (the dispatcher
in front of functions-framework apps), ``auth`` (ID tokens from the Auth emulator),
``state`` (what a running stack left on disk) and ``stack`` (start, wait, stop).
"""
