"""The GoBD archive: a journal of every mail in and out, kept unaltered (see docs/archive.md)."""
