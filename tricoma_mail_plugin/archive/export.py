"""Export of archived mail for the auditor: a ZIP of the original ``.eml`` files, an index
(``index.csv``) and a hash manifest (``SHA256SUMS``, the format ``sha256sum -c`` reads)."""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence

from ..errors import InvalidSettings
from .journal import content_hash, moment_text
from .search import ArchiveHit, hits_by_id
from .storage import archive_storage

MAX_EXPORT = 10_000
INDEX_COLUMNS = ("file", "entry_id", "archived_at", "mailbox", "folder", "direction", "message_id", "date",
                 "from", "to_cc", "subject", "size", "sha256")


def export_zip(entry_ids: Sequence[int]) -> bytes:
    """The ZIP of the given entries (purged ones are left out: their bytes are gone). Each
    file's SHA-256 is recomputed from the stored bytes and must equal the journal's."""
    wanted = sorted({int(entry_id) for entry_id in entry_ids})
    if not wanted:
        raise InvalidSettings("choose at least one archived mail to export")
    if len(wanted) > MAX_EXPORT:
        raise InvalidSettings(f"at most {MAX_EXPORT} mails per export")
    storage = archive_storage()
    buffer = io.BytesIO()
    index = io.StringIO()
    writer = csv.writer(index)
    writer.writerow(INDEX_COLUMNS)
    manifest = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive_zip:
        for hit in hits_by_id(wanted):
            raw = storage.get(hit.sha256)
            if raw is None or content_hash(raw) != hit.sha256:
                raise InvalidSettings(f"archive entry {hit.entry_id} fails its hash check: run 'flask mail "
                                      "archive verify'")
            name = f"mail/{hit.entry_id:08d}.eml"
            archive_zip.writestr(name, raw)
            writer.writerow(_index_row(name, hit))
            manifest.append(f"{hit.sha256}  {name}\n")
        archive_zip.writestr("index.csv", index.getvalue())
        archive_zip.writestr("SHA256SUMS", "".join(manifest))
    return buffer.getvalue()


def _index_row(name: str, hit: ArchiveHit) -> list:
    return [name, hit.entry_id, moment_text(hit.archived_at), hit.mailbox_address, hit.folder, hit.direction,
            hit.message_id, hit.sent_at.isoformat() if hit.sent_at else "", hit.sender, hit.recipients,
            hit.subject, hit.size, hit.sha256]
