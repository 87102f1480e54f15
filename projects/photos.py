"""Site photos attached to progress reports (现场照片).

An upload is accepted only when Pillow recognises its *content* as a JPEG, PNG or WebP image
that decodes completely; the file name proves nothing. The EXIF time and GPS position are kept
on the photo so reviewers can see when a photo does not fit its report (``photo_warnings``):
such a photo is flagged, never refused.

Writes follow ``projects.services``: keyword-only functions taking the ``actor``, rights checked
through ``projects.selectors``, ``full_clean`` and save inside one transaction.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import warnings
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import PurePath
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from projects import selectors
from projects.models import ProgressReport, ReportPhoto

PHOTO_MAX_BYTES = 10 * 1024 * 1024
# Far above any phone camera (a 200 MP sensor bins to 50 MP), far below what exhausts memory.
PHOTO_MAX_PIXELS = 50_000_000
PHOTOS_PER_REPORT = 12
THUMBNAIL_SIZE = 320
# A photo taken farther than this from the project's coordinates is flagged.
PHOTO_NEAR_KM = 5.0

# EXIF times carry no zone; the county is in China.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# Pillow format name -> (format reported, file extension). Phones write multi-picture JPEGs,
# which Pillow calls MPO: they are ordinary JPEG files.
ACCEPTED_FORMATS = {
    "JPEG": ("JPEG", "jpg"),
    "MPO": ("JPEG", "jpg"),
    "PNG": ("PNG", "png"),
    "WEBP": ("WEBP", "webp"),
}
_OPEN_FORMATS = ["JPEG", "PNG", "WEBP"]

_MB = 1024 * 1024
_COORD_PLACES = Decimal("0.000001")
_EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class PhotoInfo:
    format: str  # "JPEG", "PNG" or "WEBP"
    width: int
    height: int
    taken_at: dt.datetime | None  # aware, Asia/Shanghai
    latitude: Decimal | None  # decimal degrees, 6 places, south negative
    longitude: Decimal | None  # decimal degrees, 6 places, west negative

    @property
    def extension(self) -> str:
        return ACCEPTED_FORMATS[self.format][1]


# ---------------------------------------------------------------------------------------------
# Inspection
# ---------------------------------------------------------------------------------------------


def _display_name(upload: Any) -> str:
    return PurePath(getattr(upload, "name", None) or "").name or _("photo")


def _format_mb(limit: int) -> str:
    value = limit / _MB
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _upload_size(upload: Any) -> int:
    size = getattr(upload, "size", None)
    if size is None:
        position = upload.tell()
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
        upload.seek(position)
    return size


def _open(upload: IO[bytes]) -> Image.Image:
    upload.seek(0)
    return Image.open(upload, formats=_OPEN_FORMATS)


def inspect_photo(upload: Any) -> PhotoInfo:
    """Check that ``upload`` is a whole JPEG, PNG or WebP photo and read its EXIF.

    Raises ``ValidationError`` for anything else: too large a file, other content whatever its
    name, an absurd pixel count (decompression bomb), a truncated or corrupt file.
    """
    name = _display_name(upload)
    not_an_image = ValidationError(
        _("“%(name)s” is not a JPEG, PNG or WebP image.") % {"name": name}, code="invalid_image"
    )
    size = _upload_size(upload)
    if size > PHOTO_MAX_BYTES:
        raise ValidationError(
            _("“%(name)s” is larger than %(limit)s MB.")
            % {"name": name, "limit": _format_mb(PHOTO_MAX_BYTES)},
            code="too_large",
        )
    if size == 0:
        raise not_an_image
    too_many_pixels = ValidationError(
        _("“%(name)s” has too many pixels (at most %(limit)d million).")
        % {"name": name, "limit": PHOTO_MAX_PIXELS // 1_000_000},
        code="too_many_pixels",
    )
    corrupt = ValidationError(
        _("“%(name)s” is damaged or incomplete; upload the original photo again.") % {"name": name},
        code="corrupt_image",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # First pass: identify by content, check the header's size, verify the structure.
            with _open(upload) as image:
                if image.format not in ACCEPTED_FORMATS:
                    raise not_an_image
                if image.width * image.height > PHOTO_MAX_PIXELS:
                    raise too_many_pixels
                image.verify()
            # verify() leaves the image unusable: reopen and decode every pixel, which is what
            # finds a truncated JPEG.
            with _open(upload) as image:
                image.load()
                fmt = ACCEPTED_FORMATS[image.format][0]
                width, height = image.size
                exif = _read_exif(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_many_pixels from None
        except UnidentifiedImageError:
            raise not_an_image from None
        except ValidationError:
            raise
        except Exception:  # Pillow raises OSError, SyntaxError, ValueError, struct.error …
            raise corrupt from None
        finally:
            upload.seek(0)
    taken_at, latitude, longitude = exif
    return PhotoInfo(
        format=fmt,
        width=width,
        height=height,
        taken_at=taken_at,
        latitude=latitude,
        longitude=longitude,
    )


# ---------------------------------------------------------------------------------------------
# EXIF
# ---------------------------------------------------------------------------------------------


def _read_exif(
    image: Image.Image,
) -> tuple[dt.datetime | None, Decimal | None, Decimal | None]:
    """Time taken and GPS position; whatever is missing or malformed is ``None``."""
    try:
        exif = image.getexif()
    except Exception:  # malformed EXIF must not refuse a good photo
        return None, None, None
    taken_at = _exif_taken_at(exif)
    latitude, longitude = _exif_position(exif)
    return taken_at, latitude, longitude


def _safe_ifd(exif: Image.Exif, tag: int) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:
        return {}


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="ignore")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 \t\r\n")


def _parse_exif_time(value: Any, offset: Any = None) -> dt.datetime | None:
    text = _text(value)
    if not text or len(text) < 19:
        return None
    try:
        naive = dt.datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007
    except ValueError:
        return None
    zone: dt.tzinfo = LOCAL_TZ
    offset_text = _text(offset)
    if offset_text:
        # EXIF 2.31 OffsetTime*: "+08:00". When the camera wrote it, it is the truth.
        try:
            parsed = dt.datetime.strptime(offset_text, "%z")
        except ValueError:
            pass
        else:
            zone = parsed.tzinfo or LOCAL_TZ
    return naive.replace(tzinfo=zone).astimezone(LOCAL_TZ)


def _exif_taken_at(exif: Image.Exif) -> dt.datetime | None:
    sub = _safe_ifd(exif, ExifTags.IFD.Exif)
    candidates = (
        (sub.get(ExifTags.Base.DateTimeOriginal), sub.get(ExifTags.Base.OffsetTimeOriginal)),
        (exif.get(ExifTags.Base.DateTimeOriginal), exif.get(ExifTags.Base.OffsetTimeOriginal)),
        (exif.get(ExifTags.Base.DateTime), sub.get(ExifTags.Base.OffsetTime)),
    )
    for value, offset in candidates:
        taken_at = _parse_exif_time(value, offset)
        if taken_at is not None:
            return taken_at
    return None


def _degrees(value: Any, ref: Any, positive: str, negative: str, limit: int) -> Decimal | None:
    hemisphere = (_text(ref) or "").upper()[:1]
    if hemisphere not in (positive, negative):
        return None
    try:
        parts = [float(part) for part in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(p) and p >= 0 for p in parts):
        return None
    parts += [0.0] * (3 - len(parts))
    degrees = parts[0] + parts[1] / 60 + parts[2] / 3600
    if degrees > limit:
        return None
    result = Decimal(repr(degrees)).quantize(_COORD_PLACES, rounding=ROUND_HALF_UP)
    return -result if hemisphere == negative else result


def _exif_position(exif: Image.Exif) -> tuple[Decimal | None, Decimal | None]:
    gps = _safe_ifd(exif, ExifTags.IFD.GPSInfo)
    latitude = _degrees(
        gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "N", "S", 90
    )
    longitude = _degrees(
        gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "E", "W", 180
    )
    if latitude is None or longitude is None or (latitude == 0 and longitude == 0):
        # Half a position is no position; 0°, 0° is what cameras write without a fix.
        return None, None
    return latitude, longitude


# ---------------------------------------------------------------------------------------------
# Thumbnail
# ---------------------------------------------------------------------------------------------


def make_thumbnail(image_file: Any) -> ContentFile:
    """A JPEG whose longest side is at most 320 px, turned upright as the EXIF says."""
    image_file.seek(0)
    with Image.open(image_file, formats=_OPEN_FORMATS) as image:
        image.draft("RGB", (THUMBNAIL_SIZE * 2, THUMBNAIL_SIZE * 2))  # fast JPEG downscale
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
        if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
            rgba = upright.convert("RGBA")
            rgb = Image.new("RGB", rgba.size, (255, 255, 255))
            rgb.paste(rgba, mask=rgba.getchannel("A"))
        else:
            rgb = upright.convert("RGB")
    image_file.seek(0)
    buffer = io.BytesIO()
    rgb.save(buffer, format="JPEG", quality=82, optimize=True)
    stem = PurePath(getattr(image_file, "name", None) or "photo").stem or "photo"
    return ContentFile(buffer.getvalue(), name=f"{stem}_thumb.jpg")


# ---------------------------------------------------------------------------------------------
# Warnings
# ---------------------------------------------------------------------------------------------


def distance_km(
    lat1: float | Decimal, lon1: float | Decimal, lat2: float | Decimal, lon2: float | Decimal
) -> float:
    """Great-circle (haversine) distance in kilometres."""
    phi1, phi2 = math.radians(float(lat1)), math.radians(float(lat2))
    d_phi = phi2 - phi1
    d_lambda = math.radians(float(lon2) - float(lon1))
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def photo_warnings(photo: ReportPhoto) -> list[str]:
    """Why a reviewer should look twice at this photo; empty when nothing is odd or unknown."""
    messages: list[str] = []
    report = photo.report
    if photo.taken_at is not None:
        taken_on = photo.taken_at.astimezone(LOCAL_TZ).date()
        if not report.period_start <= taken_on <= report.period_end:
            messages.append(
                _("The photo was taken on %(date)s, outside the report period %(start)s – %(end)s.")
                % {
                    "date": taken_on.isoformat(),
                    "start": report.period_start.isoformat(),
                    "end": report.period_end.isoformat(),
                }
            )
    project = report.project
    if None not in (photo.latitude, photo.longitude, project.latitude, project.longitude):
        distance = distance_km(photo.latitude, photo.longitude, project.latitude, project.longitude)
        if distance > PHOTO_NEAR_KM:
            messages.append(
                _(
                    "The photo was taken %(distance)s km from the project site "
                    "(more than %(limit)s km)."
                )
                % {"distance": f"{distance:.1f}", "limit": f"{PHOTO_NEAR_KM:g}"}
            )
    return messages


# ---------------------------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------------------------


def _check_can_change(report: ProgressReport, actor) -> None:
    if not selectors.can_edit_project(actor, report.project):
        raise PermissionDenied(
            _("You may not report on the project “%(project)s”.") % {"project": report.project}
        )
    if not report.is_editable:
        raise ValidationError(
            _("A report that is %(status)s cannot be changed.")
            % {"status": report.get_status_display()}
        )


def _delete_files(*fields: Any) -> None:
    for field in fields:
        if field and field.name:
            field.storage.delete(field.name)


@transaction.atomic
def report_photo_add(
    *, report: ProgressReport, upload: Any, actor, caption: str = ""
) -> ReportPhoto:
    """Attach a site photo to a draft or returned report. A refused file stores nothing."""
    # Locking the report serialises concurrent uploads, so the per-report limit holds.
    report = ProgressReport.objects.select_for_update().select_related("project").get(pk=report.pk)
    _check_can_change(report, actor)
    if report.photos.count() >= PHOTOS_PER_REPORT:
        raise ValidationError(
            _("A report can have at most %(limit)d photos.") % {"limit": PHOTOS_PER_REPORT},
            code="too_many_photos",
        )
    info = inspect_photo(upload)
    photo = ReportPhoto(
        report=report,
        caption=caption.strip(),
        taken_at=info.taken_at,
        latitude=info.latitude,
        longitude=info.longitude,
        uploaded_by=actor,
    )
    # Validate everything but the files before writing any file.
    photo.full_clean(exclude=["image", "thumbnail"])
    stem = PurePath(_display_name(upload)).stem or "photo"
    thumbnail = make_thumbnail(upload)
    try:
        # The stored name carries the extension of the real format, whatever the upload said.
        photo.image.save(f"{stem}.{info.extension}", upload, save=False)
        photo.thumbnail.save(f"{stem}_thumb.jpg", thumbnail, save=False)
        photo.full_clean()
        photo.save()
    except BaseException:
        _delete_files(photo.image, photo.thumbnail)
        raise
    return photo


@transaction.atomic
def report_photo_remove(*, photo: ReportPhoto, actor) -> None:
    """Remove a photo from a draft or returned report; its files go once the removal commits."""
    photo = ReportPhoto.objects.select_related("report__project").get(pk=photo.pk)
    report = (
        ProgressReport.objects.select_for_update().select_related("project").get(pk=photo.report_id)
    )
    _check_can_change(report, actor)
    image, thumbnail = photo.image, photo.thumbnail
    photo.delete()
    transaction.on_commit(lambda: _delete_files(image, thumbnail))
