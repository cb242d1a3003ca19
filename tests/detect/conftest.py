"""One Detector (real Presidio + spaCy EN/FR) shared by the context tests."""

from __future__ import annotations

import pytest

from anonymizer.config import DetectConfig
from anonymizer.detect import Detector
from anonymizer.detect.roster import Employee

ROSTER = [
    Employee("E10234", "Claire", "Dubois", "cdubois", "claire.dubois@acme.fr", "4127"),
    Employee("E20011", "Marc", "Lefèvre", "mlefevre", "marc.lefevre@acme.fr", "4133"),
    Employee("E30001", "Thi", "Nguyen", "tnguyen", "", ""),
    Employee("E30002", "Paul", "Dupont", "pdupont", "", ""),
    Employee("E30003", "Marie", "Laurent", "mlaurent", "", ""),
    Employee("E30004", "Hans", "Schmitt", "hschmitt", "", ""),
]
AGENT = "E10234"


@pytest.fixture
def detector() -> Detector:
    """A fresh registry per test (the Presidio engine is loaded once per process)."""
    return Detector(DetectConfig(), roster=ROSTER, agent_id=AGENT)
