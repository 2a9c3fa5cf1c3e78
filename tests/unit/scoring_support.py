"""A finished mock test in the fake world, written by the real sessions and turns services,
for the scoring tests; and the CloudEvents that Eventarc would deliver for it."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Sequence
from typing import Any

from cloudevents.http import CloudEvent

from tests.unit.session_support import Examiner, answer_audio

_EVENT_IDS = itertools.count(1)


# Six answers of a learner around band 6: enough speech (about 3 minutes, 400 words) for
# every criterion, a few grammar slips, some linking words.
ANSWERS: tuple[str, ...] = (
    "My name is Ana and I come from a small town near the coast, where I grew up.",
    "I work as a nurse in a big hospital in the city. I like my job because I can help people "
    "every day, although the shifts are long and sometimes it is very tiring. Actually I have "
    "been working there for five years and I think I learned a lot about patience.",
    "In my free time I usually go to the park with my friends or I read books at home. Reading "
    "help me to relax after a busy week, and I really enjoy novels about history because they "
    "show how people lived in the past and what problems they had.",
    "I would like to describe a trip to the mountains that I took last summer with my family. "
    "We drove for about four hours and then we walked up to a lake. The view was absolutely "
    "breathtaking and the air was so fresh. We stayed in a small wooden house and every "
    "evening we cooked dinner together. What I remember most is the silence at night, "
    "because in the city there is always noise. I think this trip was special because we "
    "spent time together without our phones, and we talked a lot about our plans.",
    "I think people travel more nowadays because flights are cheaper than before and the "
    "internet make it easy to find information. However, it also cause problems for the "
    "environment, so governments should encourage people to take trains instead of planes.",
    "In the future I believe tourism will change a lot. For example, more people will work "
    "from anywhere, so they can travel and work at the same time. On the other hand, popular "
    "places might become too crowded, which is a serious problem for local communities.",
)


def finish_a_test(
    examiner: Examiner,
    answers: Sequence[str] = ANSWERS,
    *,
    uid: str = "learner-1",
    seconds: float = 30.0,
) -> str:
    """Start a full test, give ``answers`` (each ``seconds`` of speech-like audio), finish."""
    session_id: str = examiner.start("full", uid=uid)["session_id"]
    examiner.stt.script(*answers)
    for index, _ in enumerate(answers):
        examiner.answered(session_id, audio=answer_audio(seconds, seed=index), uid=uid)
    finish = examiner.sessions.post(
        f"/sessions/{session_id}/finish", headers=examiner.world.auth(uid)
    )
    assert finish.status_code == 200, finish.get_json()
    return session_id


def pubsub_event(
    topic: str,
    payload: Any,
    *,
    attributes: dict[str, str] | None = None,
    event_id: str | None = None,
    time: str = "2026-01-01T00:00:00Z",
    raw: bytes | None = None,
) -> CloudEvent:
    """A CloudEvent as Eventarc delivers a Pub/Sub message."""
    data = raw if raw is not None else json.dumps(payload).encode()
    message_id = event_id or f"event-{next(_EVENT_IDS)}"
    return CloudEvent(
        {
            "id": message_id,
            "source": f"//pubsub.googleapis.com/projects/demo-speaking-coach/topics/{topic}",
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "time": time,
        },
        {
            "message": {
                "data": base64.b64encode(data).decode(),
                "attributes": attributes or {},
                "messageId": message_id,
            },
            "subscription": f"projects/demo-speaking-coach/subscriptions/{topic}",
        },
    )
