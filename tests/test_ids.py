"""Resource ids: UUID v4 text from buffered OS randomness."""

from __future__ import annotations

import os
import uuid

import pytest

from mock_server.services.common import new_id


def test_ids_are_canonical_version_4_uuids_and_do_not_repeat() -> None:
    ids = [new_id() for _ in range(2000)]  # several refills of the 4 KiB pool
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text  # lower-case, hyphenated: as stored and compared


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    new_id()  # the pool holds unused bytes now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        os.write(write, new_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert uuid.UUID(child).version == 4
    assert child != new_id()
