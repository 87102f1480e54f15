"""Site photos on progress reports: content checks, EXIF, thumbnails, warnings and rights."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from projects import photos, services
from projects.models import ReportPhoto
from tracker import periods

SHANGHAI = ZoneInfo("Asia/Shanghai")
OCTOBER = periods.parse("2026-10")
SITE = (Decimal("30.123456"), Decimal("108.654321"))


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def make_exif(
    *,
    taken: str | None = "2026:10:15 14:30:00",
    offset: str | None = None,
    gps: tuple[str, tuple, str, tuple] | None = ("N", (30, 7, 24.4416), "E", (108, 39, 15.5556)),
    orientation: int | None = None,
) -> Image.Exif:
    """30°7′24.4416″N 108°39′15.5556″E is 30.123456, 108.654321."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if taken is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps is not None:
        lat_ref, lat, lon_ref, lon = gps
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[ExifTags.GPS.GPSLatitudeRef] = lat_ref
        info[ExifTags.GPS.GPSLatitude] = tuple(float(part) for part in lat)
        info[ExifTags.GPS.GPSLongitudeRef] = lon_ref
        info[ExifTags.GPS.GPSLongitude] = tuple(float(part) for part in lon)
    return exif


def image_bytes(
    fmt: str = "JPEG",
    size: tuple[int, int] = (1200, 800),
    mode: str = "RGB",
    exif: Image.Exif | None = None,
    noise: bool = False,
) -> bytes:
    image = (
        Image.effect_noise(size, 80).convert(mode)
        if noise
        else Image.new(mode, size, "#3a7" if mode != "RGBA" else (50, 160, 110, 128))
    )
    buffer = io.BytesIO()
    # As bytes: Pillow's PNG writer skips an Image.Exif whose IFD0 is empty.
    kwargs = {"exif": exif.tobytes()} if exif is not None else {}
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def upload(content: bytes, name: str = "现场.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` pixels (a decompression bomb)."""
    data = bytearray(image_bytes("PNG", size=(1, 1)))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture
def report(project_a, reporter_a):
    return services.report_save(
        project=project_a, period=OCTOBER, actor=reporter_a, investment=Decimal("100")
    )


@pytest.fixture
def located(project_a, reporter_a):
    return services.project_update(
        project=project_a, actor=reporter_a, latitude=SITE[0], longitude=SITE[1]
    )


def add(report, actor, content: bytes, name: str = "现场.jpg", **kwargs) -> ReportPhoto:
    return photos.report_photo_add(
        report=report, upload=upload(content, name), actor=actor, **kwargs
    )


# ---------------------------------------------------------------------------------------------
# Accepted photos
# ---------------------------------------------------------------------------------------------


def test_jpeg_is_stored_with_thumbnail_time_and_position(report, reporter_a):
    photo = add(report, reporter_a, image_bytes(exif=make_exif()), caption="  路基施工  ")

    photo.refresh_from_db()
    assert photo.report == report
    assert photo.uploaded_by == reporter_a
    assert photo.caption == "路基施工"
    assert photo.taken_at == dt.datetime(2026, 10, 15, 14, 30, tzinfo=SHANGHAI)
    assert photo.latitude == Decimal("30.123456")
    assert photo.longitude == Decimal("108.654321")
    assert photo.image.name.startswith(f"reports/{report.project_id}/2026-10/")
    assert photo.image.name.endswith(".jpg")
    with Image.open(photo.image.path) as stored:
        assert stored.size == (1200, 800)
    with Image.open(photo.thumbnail.path) as thumb:
        assert thumb.format == "JPEG"
        assert thumb.mode == "RGB"
        assert thumb.size == (320, 213)
    assert len(media_files()) == 2


def test_thumbnail_follows_exif_orientation(report, reporter_a):
    # Orientation 6: the sensor's landscape frame is shown rotated to portrait.
    photo = add(report, reporter_a, image_bytes(exif=make_exif(orientation=6)))
    with Image.open(photo.thumbnail.path) as thumb:
        assert thumb.size == (213, 320)


@pytest.mark.parametrize(
    ("fmt", "mode", "name", "stored_ext"),
    [
        ("PNG", "RGB", "site.png", ".png"),
        ("PNG", "RGBA", "透明.png", ".png"),
        ("WEBP", "RGB", "site.webp", ".webp"),
        # A real PNG under a .jpg name is accepted and stored under its true extension.
        ("PNG", "RGB", "mislabelled.jpg", ".png"),
    ],
)
def test_png_and_webp_are_accepted(report, reporter_a, fmt, mode, name, stored_ext):
    content = image_bytes(fmt, size=(400, 900), mode=mode, exif=make_exif())
    info = photos.inspect_photo(upload(content, name))
    assert info.format == fmt
    assert (info.width, info.height) == (400, 900)
    assert info.taken_at == dt.datetime(2026, 10, 15, 14, 30, tzinfo=SHANGHAI)
    assert (info.latitude, info.longitude) == SITE

    photo = add(report, reporter_a, content, name)
    assert photo.image.name.endswith(stored_ext)
    with Image.open(photo.thumbnail.path) as thumb:
        assert thumb.mode == "RGB"
        assert max(thumb.size) == 320
        assert thumb.size == (142, 320)


def test_small_photo_keeps_its_size_in_the_thumbnail(report, reporter_a):
    photo = add(report, reporter_a, image_bytes(size=(200, 100)))
    with Image.open(photo.thumbnail.path) as thumb:
        assert thumb.size == (200, 100)


def test_south_and_west_are_negative():
    exif = make_exif(gps=("S", (30, 7, 24.4416), "W", (108, 39, 15.5556)))
    info = photos.inspect_photo(upload(image_bytes(exif=exif)))
    assert info.latitude == Decimal("-30.123456")
    assert info.longitude == Decimal("-108.654321")
    assert info.latitude.as_tuple().exponent == -6


def test_exif_time_is_shanghai_local_time_and_falls_back_to_datetime():
    info = photos.inspect_photo(upload(image_bytes(exif=make_exif(taken="2026:10:01 00:30:00"))))
    assert info.taken_at == dt.datetime(2026, 10, 1, 0, 30, tzinfo=SHANGHAI)
    assert info.taken_at.utcoffset() == dt.timedelta(hours=8)

    exif = make_exif(taken=None)
    exif[ExifTags.Base.DateTime] = "2026:10:20 08:00:00"
    info = photos.inspect_photo(upload(image_bytes(exif=exif)))
    assert info.taken_at == dt.datetime(2026, 10, 20, 8, 0, tzinfo=SHANGHAI)


def test_an_explicit_exif_offset_is_honoured():
    exif = make_exif(taken="2026:10:31 23:30:00", offset="+00:00")
    info = photos.inspect_photo(upload(image_bytes(exif=exif)))
    assert info.taken_at == dt.datetime(2026, 11, 1, 7, 30, tzinfo=SHANGHAI)


def test_photo_without_exif_has_no_time_or_position(report, reporter_a):
    photo = add(report, reporter_a, image_bytes())
    assert photo.taken_at is None
    assert photo.latitude is None
    assert photo.longitude is None
    assert photos.photo_warnings(photo) == []


@pytest.mark.parametrize(
    "exif_kwargs",
    [
        {"taken": "0000:00:00 00:00:00", "gps": ("X", (30, 7, 24), "E", (108, 39, 15))},
        {"taken": "    :  :     :  :  ", "gps": ("N", (30, 7, 24), "", (108, 39, 15))},
        {"taken": "yesterday", "gps": ("N", (95, 0, 0), "E", (108, 39, 15))},
        {"taken": "2026:13:45 25:61:00", "gps": ("N", (0, 0, 0), "E", (0, 0, 0))},
        {"taken": "2026:10:15 14:30:00", "offset": "bogus", "gps": None},
    ],
)
def test_malformed_exif_is_ignored_not_refused(exif_kwargs):
    info = photos.inspect_photo(upload(image_bytes(exif=make_exif(**exif_kwargs))))
    assert info.format == "JPEG"
    assert info.latitude is None
    assert info.longitude is None
    if exif_kwargs.get("offset") == "bogus":
        assert info.taken_at == dt.datetime(2026, 10, 15, 14, 30, tzinfo=SHANGHAI)
    else:
        assert info.taken_at is None


def test_gps_with_zero_denominator_is_ignored():
    exif = make_exif(gps=None)
    info_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
    info_ifd[ExifTags.GPS.GPSLatitudeRef] = "N"
    info_ifd[ExifTags.GPS.GPSLatitude] = (IFDRational(30, 0), IFDRational(7), IFDRational(24))
    info_ifd[ExifTags.GPS.GPSLongitudeRef] = "E"
    info_ifd[ExifTags.GPS.GPSLongitude] = (108.0, 39.0, 15.0)
    info = photos.inspect_photo(upload(image_bytes(exif=exif)))
    assert (info.latitude, info.longitude) == (None, None)


# ---------------------------------------------------------------------------------------------
# Refused files
# ---------------------------------------------------------------------------------------------


def truncated_jpeg() -> bytes:
    content = image_bytes(size=(400, 300), noise=True)
    return content[: len(content) // 2]


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.mark.parametrize(
    ("make_content", "code", "message"),
    [
        (lambda: "这不是照片".encode() * 20, "invalid_image", "is not a JPEG, PNG or WebP image"),
        (lambda: image_bytes("GIF", size=(50, 50)), "invalid_image", "is not a JPEG, PNG"),
        (pdf, "invalid_image", "is not a JPEG, PNG"),
        (lambda: b"", "invalid_image", "is not a JPEG, PNG"),
        (lambda: image_bytes("BMP", size=(50, 50)), "invalid_image", "is not a JPEG, PNG"),
        (truncated_jpeg, "corrupt_image", "is damaged or incomplete"),
        (lambda: png_claiming(10_000, 6_000), "too_many_pixels", "has too many pixels"),
        (lambda: png_claiming(20_000, 20_000), "too_many_pixels", "has too many pixels"),
    ],
    ids=["text", "gif", "pdf", "empty", "bmp", "truncated", "60-megapixels", "bomb"],
)
def test_refused_files_store_nothing(report, reporter_a, make_content, code, message):
    with translation.override("en"), pytest.raises(ValidationError) as raised:
        add(report, reporter_a, make_content(), name="工地.jpg")
    assert raised.value.code == code
    assert "“工地.jpg”" in raised.value.messages[0]
    assert message in raised.value.messages[0]
    assert not ReportPhoto.objects.exists()
    assert media_files() == []


def test_pillows_own_bomb_limit_is_caught(monkeypatch):
    # Even with our pixel limit lifted, Pillow's DecompressionBombError becomes a refusal.
    monkeypatch.setattr(photos, "PHOTO_MAX_PIXELS", 10**12)
    with pytest.raises(ValidationError) as raised:
        photos.inspect_photo(upload(png_claiming(20_000, 20_000)))
    assert raised.value.code == "too_many_pixels"


def test_size_limit_is_checked_before_decoding(report, reporter_a, monkeypatch):
    monkeypatch.setattr(photos, "PHOTO_MAX_BYTES", 2 * 1024 * 1024)
    content = image_bytes("PNG", size=(1000, 1000), noise=True)
    assert len(content) > 2 * 1024 * 1024

    def no_decoding(*args, **kwargs):
        raise AssertionError("an oversized file must not be decoded")

    monkeypatch.setattr(photos.Image, "open", no_decoding)
    with translation.override("en"), pytest.raises(ValidationError) as raised:
        add(report, reporter_a, content, name="big.png")
    assert raised.value.code == "too_large"
    assert raised.value.messages == ["“big.png” is larger than 2 MB."]
    assert not ReportPhoto.objects.exists()
    assert media_files() == []


def test_default_size_limit_is_ten_megabytes():
    assert photos.PHOTO_MAX_BYTES == 10 * 1024 * 1024


def test_too_long_caption_stores_nothing(report, reporter_a):
    with pytest.raises(ValidationError) as raised:
        add(report, reporter_a, image_bytes(), caption="长" * 201)
    assert "caption" in raised.value.message_dict
    assert not ReportPhoto.objects.exists()
    assert media_files() == []


# ---------------------------------------------------------------------------------------------
# Warnings
# ---------------------------------------------------------------------------------------------


def test_distance_km():
    assert photos.distance_km(0, 0, 0, 0) == 0
    assert photos.distance_km(30, 108, 31, 108) == pytest.approx(111.2, abs=0.1)
    assert photos.distance_km(*SITE, Decimal("30.2"), SITE[1]) == pytest.approx(8.5, abs=0.1)


def test_no_warnings_for_a_photo_taken_in_the_period_near_the_site(report, reporter_a, located):
    photo = add(report, reporter_a, image_bytes(exif=make_exif()))
    assert photos.photo_warnings(photo) == []


def test_photo_on_the_period_boundaries_is_not_flagged(report, reporter_a, located):
    for taken in ("2026:10:01 00:00:00", "2026:10:31 23:59:59"):
        photo = add(report, reporter_a, image_bytes(exif=make_exif(taken=taken)))
        assert photos.photo_warnings(photo) == []


def test_warnings_for_a_photo_taken_outside_the_period_and_far_away(report, reporter_a, located):
    exif = make_exif(taken="2026:09:20 09:00:00", gps=("N", (30, 12, 0), "E", (108, 39, 15.5556)))
    photo = add(report, reporter_a, image_bytes(exif=exif))
    with translation.override("en"):
        messages = photos.photo_warnings(photo)
    assert messages == [
        "The photo was taken on 2026-09-20, outside the report period 2026-10-01 – 2026-10-31.",
        "The photo was taken 8.5 km from the project site (more than 5 km).",
    ]


def test_shanghai_date_decides_the_period(report, reporter_a, located):
    # 23:30 UTC on 31 October is already 1 November in the county.
    exif = make_exif(taken="2026:10:31 23:30:00", offset="+00:00")
    photo = add(report, reporter_a, image_bytes(exif=exif))
    with translation.override("en"):
        assert photos.photo_warnings(photo) == [
            "The photo was taken on 2026-11-01, outside the report period 2026-10-01 – 2026-10-31."
        ]


def test_no_distance_warning_without_project_coordinates(report, reporter_a):
    exif = make_exif(gps=("S", (30, 7, 24.4416), "W", (108, 39, 15.5556)))
    photo = add(report, reporter_a, image_bytes(exif=exif))
    assert photos.photo_warnings(photo) == []


# ---------------------------------------------------------------------------------------------
# Rights, report state and limits
# ---------------------------------------------------------------------------------------------


def test_another_units_reporter_may_not_add(report, reporter_b):
    with pytest.raises(PermissionDenied):
        add(report, reporter_b, image_bytes())
    assert not ReportPhoto.objects.exists()
    assert media_files() == []


def test_unit_head_may_add(report, head_a):
    assert add(report, head_a, image_bytes()).uploaded_by == head_a


def test_submitted_report_refuses_photos(report, reporter_a):
    photo = add(report, reporter_a, image_bytes())
    services.report_submit(report=report, actor=reporter_a)
    with pytest.raises(ValidationError):
        add(report, reporter_a, image_bytes())
    with pytest.raises(ValidationError):
        photos.report_photo_remove(photo=photo, actor=reporter_a)
    assert ReportPhoto.objects.count() == 1
    assert len(media_files()) == 2


def test_returned_report_accepts_photos(report, reporter_a, head_a):
    services.report_submit(report=report, actor=reporter_a)
    services.report_return(report=report, actor=head_a, reason="请补充现场照片")
    report.refresh_from_db()
    assert add(report, reporter_a, image_bytes()).pk is not None


def test_at_most_twelve_photos_per_report(report, reporter_a):
    content = image_bytes(size=(40, 30))
    for _ in range(photos.PHOTOS_PER_REPORT):
        add(report, reporter_a, content)
    with translation.override("en"), pytest.raises(ValidationError) as raised:
        add(report, reporter_a, content)
    assert raised.value.messages == ["A report can have at most 12 photos."]
    assert report.photos.count() == 12
    assert len(media_files()) == 24


def test_remove_deletes_row_and_files_once_committed(
    report, reporter_a, django_capture_on_commit_callbacks
):
    photo = add(report, reporter_a, image_bytes())
    assert len(media_files()) == 2
    with django_capture_on_commit_callbacks(execute=True):
        photos.report_photo_remove(photo=photo, actor=reporter_a)
    assert not ReportPhoto.objects.exists()
    assert media_files() == []


def test_another_units_reporter_may_not_remove(report, reporter_a, reporter_b):
    photo = add(report, reporter_a, image_bytes())
    with pytest.raises(PermissionDenied):
        photos.report_photo_remove(photo=photo, actor=reporter_b)
    assert ReportPhoto.objects.count() == 1
    assert len(media_files()) == 2
