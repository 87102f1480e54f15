"""Files as users upload or download them: site photos, and the spreadsheets the site writes."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import load_workbook
from PIL import Image


def jpeg_bytes(size=(640, 480), color=(120, 160, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def upload(content: bytes, name: str = "现场.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def jpeg_with_exif(path: Path) -> Path:
    """A site photo at ``path`` with the camera's time (EXIF DateTime) set to now."""
    image = Image.new("RGB", (1200, 800), (90, 140, 200))
    exif = Image.Exif()
    exif[0x0132] = timezone.localtime().strftime("%Y:%m:%d %H:%M:%S")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    path.write_bytes(buffer.getvalue())
    return path


def xlsx_rows(content: bytes, header_first: str) -> tuple[list[tuple[str, str, str]], str]:
    """The ranking table of a bulletin's or dashboard's .xlsx, read again with openpyxl:
    (unit, rank, score) rows below the header row whose first cell is ``header_first``, and the
    whole sheet's text."""
    sheet = load_workbook(io.BytesIO(content)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    text = "\n".join(str(c) for row in rows for c in row if c is not None)
    start = next(i for i, row in enumerate(rows) if row[0] == header_first)
    table = []
    for row in rows[start + 1 :]:
        if row[1] is None:
            break
        table.append((row[1], str(row[0]), f"{Decimal(row[2]):.2f}"))
    return table, text


def download_name(response) -> str:
    """The name a browser saves a download under: the response must be an attachment, its
    name given as RFC 6266 says (``filename*=utf-8''…`` for a Chinese one)."""
    kind, _sep, parameter = response["Content-Disposition"].partition("; ")
    assert kind == "attachment"
    key, _sep, value = parameter.partition("=")
    if key == "filename*":
        charset, _language, encoded = value.split("'", 2)
        assert charset.lower() == "utf-8"
        return unquote(encoded, encoding="utf-8", errors="strict")
    assert key == "filename"
    return value.strip('"')
