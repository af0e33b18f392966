"""Provides the exam workflow of relaylab: assessor keys, sealed bundles, per-candidate draws and lab
randomisation, the attempt journal, signed results, review, reports, certificates and export.

Scoring and item statistics are pure and live in :mod:`grading.assessment`; this package does the
orchestration and the I/O around them. The modules, in the order an exam goes through them:

* :mod:`engine.exam.keys` and :mod:`engine.exam.crypto`: the assessor's keys; signatures, sealing, hashes;
* :mod:`engine.exam.bundle`: ``exam pack`` and loading a bundle;
* :mod:`engine.exam.plan` and :mod:`engine.exam.randomise`: one candidate's items and tenant names;
* :mod:`engine.exam.attempt`, :mod:`engine.exam.plain` and :mod:`engine.exam.labitem`: ``exam take``;
* :mod:`engine.exam.result`: the signed result and ``exam verify``;
* :mod:`engine.exam.review`, :mod:`engine.exam.report`, :mod:`engine.exam.certificate`: the assessor's side;
* :mod:`engine.exam.export`: xAPI, CSV and JUnit records; :mod:`engine.exam.synthetic`: synthetic results.
"""

from __future__ import annotations

__all__: list[str] = []
