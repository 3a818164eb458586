import pytest

from sendook.events.tests.live import EventWriter


@pytest.fixture(scope="session")
def event_writer(asgi_server):
    writer = EventWriter(asgi_server)
    yield writer
    writer.close()


@pytest.fixture
def live_org(live_asgi, event_writer):
    """A fresh organization on the live server (with a full-scope API key)."""
    return event_writer.new_org()
