"""Sample events for the language tests."""

from __future__ import annotations

from tests.notify.support import SAMPLE_DATA
from webapp.events import EventType

#: The samples, with the errors the product itself writes (the shared samples carry made-up
#: ones, which are data to a catalog).
SAMPLES = {
    **SAMPLE_DATA,
    EventType.BOT_ERROR: {
        **SAMPLE_DATA[EventType.BOT_ERROR],
        "error": "Stopped after 5 failed cycles in a row. Last error: The exchange could not "
        "be reached; try again in a minute.",
    },
    EventType.API_KEY_INVALID: {
        **SAMPLE_DATA[EventType.API_KEY_INVALID],
        "error": "The exchange rejected this API key or secret.",
    },
}
