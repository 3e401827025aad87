# SPDX-License-Identifier: Apache-2.0
"""The text of console records (spec/format.md section 4.9) from one
stream's output as it arrives: whole lines, a line rewritten with `\\r` (a
progress bar) in its final state only, and a partial line written when asked."""

PARTIAL_MAX = 1 << 20  # characters of one line held before it is written as a partial line


class LineFolder:
    """Not thread-safe: one per stream, fed by one thread at a time. Folds
    `str`, or with `binary` UTF-8 `bytes` (`\r` and `\n` are never part of
    another character), which saves decoding and encoding again."""

    __slots__ = ("emitted", "pending", "rewrites", "rewritten", "since", "_cr", "_nl", "_empty")

    def __init__(self, binary=False):
        self._cr, self._nl, self._empty = (b"\r", b"\n", b"") if binary else ("\r", "\n", "")
        self.pending = self._empty  # the current line so far, after its last `\r` (trailing `\r`s kept: a `\n` may follow)
        self.emitted = False  # part of the current line is already in a record
        self.rewritten = False  # the line was rewritten since that part was written
        self.rewrites = False  # the current line holds a `\r`: a progress bar
        self.since = None  # when the current line started, for `due`

    def feed(self, s, now=0.0):
        """The text to record now for `s` (may be ""): the lines it completes."""
        if self.since is None and s:
            self.since = now
        cr, nl_char = self._cr, self._nl
        if cr not in s and not self.pending.endswith(cr):  # the common case: plain lines
            nl = s.rfind(nl_char)
            if nl < 0:
                self.pending += s
                return self.take_partial() if len(self.pending) > PARTIAL_MAX else self._empty
            out = self._prefix() + self.pending + s[: nl + 1]
            self._reset(s[nl + 1 :], now)
            return out
        out = []
        start = 0
        while True:
            nl = s.find(nl_char, start)
            if nl < 0:
                break
            self._add(s[start:nl])
            out.append(self._prefix() + self.pending.rstrip(cr) + nl_char)
            self._reset(self._empty, now)
            start = nl + 1
        if start < len(s):
            self._add(s[start:])
        if len(self.pending) > PARTIAL_MAX:
            out.append(self.take_partial())
        return self._empty.join(out)

    def due(self, now, plain_after, rewritten_after):
        """Whether the partial line has waited long enough to be written:
        `plain_after` seconds, or `rewritten_after` for a progress bar."""
        if self.since is None or not (self.pending.rstrip(self._cr) or self.rewritten):
            return False
        return now - self.since >= (rewritten_after if self.rewrites else plain_after)

    def take_partial(self, now=0.0):
        """The partial line as it stands, to record now; the line goes on."""
        body = self.pending.rstrip(self._cr)
        if not body and not self.rewritten:
            return self._empty
        text = self._prefix() + body
        self.pending = self.pending[len(body) :]
        self.emitted, self.rewritten, self.since = True, False, now
        return text

    def _add(self, seg):
        text = self.pending + seg
        k = text.rstrip(self._cr).rfind(self._cr)
        if k >= 0:
            text = text[k + 1 :]
            self.rewrites = True
            if self.emitted:
                self.rewritten = True
        self.pending = text

    def _prefix(self):
        return self._cr if self.emitted and self.rewritten else self._empty

    def _reset(self, pending, now):
        self.pending = pending
        self.emitted = self.rewritten = False
        self.rewrites = self._cr in pending
        self.since = now if pending else None


def render(texts):
    """The output a terminal would show for one stream's record texts, in
    order: each line's text after its last `\\r` (a `\\r` just before the
    line's end does not count); a text starting with `\\r` replaces the
    partial line before it."""
    out = "".join(texts)
    lines = out.split("\n")
    shown = []
    for line in lines:
        body = line.rstrip("\r")
        k = body.rfind("\r")
        shown.append(body[k + 1 :] if k >= 0 else body)
    return "\n".join(shown)
