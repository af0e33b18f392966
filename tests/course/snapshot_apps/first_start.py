"""The app on a fresh machine: no learner yet, so it asks for a name."""

from course.app import RelaylabApp
from tests.course.fixture import fixture_course
from tests.course.helpers import NOW

app = RelaylabApp(fixture_course(), now=lambda: NOW)
