"""The bounded log keeps head and tail within budget and marks what it dropped."""

from grader.sandbox import BoundedLog


def test_small_output_kept_whole() -> None:
    log = BoundedLog(1000)
    log.feed(b"hello\n")
    log.feed(b"world\n")
    assert log.text() == "hello\nworld\n"
    assert not log.truncated


def test_flood_keeps_head_and_tail_and_marks_the_drop() -> None:
    log = BoundedLog(1000)
    log.feed(b"FIRST-LINE\n")
    for _ in range(1000):
        log.feed(b"x" * 1000)
    log.feed(b"\nLAST-LINE\n")
    text = log.text()
    assert text.startswith("FIRST-LINE\n")
    assert text.endswith("LAST-LINE\n")
    assert log.truncated
    assert "bytes of output dropped by the grader" in text
    assert len(text.encode()) < 1000 + 200
    assert log.dropped == 11 + 1000 * 1000 + 11 - 1000


def test_invalid_utf8_is_replaced_not_raised() -> None:
    log = BoundedLog(100)
    log.feed(b"ok \xff\xfe done")
    assert "\ufffd" in log.text()
