"""Photo metadata: report what a picture gives away (sm-8c) and make a stripped copy.

Works on bytes in memory so neither the photo nor its copy has to touch the disk.
Reported: GPS coordinates, place names (IPTC/XMP), timestamps and the device.
"""

from __future__ import annotations

import io
import warnings

from reviewer.errors import InputError
from reviewer.merge import merge
from reviewer.patterns import compile_pattern
from reviewer.schema import Finding, ImageReport, Result, verdict_for

MAX_BYTES = 40 * 1024 * 1024
MAX_PIXELS = 80_000_000  # beyond this Pillow could be fed a decompression bomb

# EXIF tag numbers (Pillow's ExifTags.Base / GPS), named here to keep the mapping readable.
_GPS_IFD, _EXIF_IFD = 0x8825, 0x8769
_BASE_FIELDS = {271: "Camera make", 272: "Camera model", 305: "Software", 306: "Modified",
                270: "Description", 315: "Artist"}
_EXIF_FIELDS = {36867: "Taken", 36868: "Digitised", 42036: "Lens", 42033: "Serial number",
                42035: "Lens make", 36880: "Time zone"}
_IPTC_PLACES = {(2, 90): "City", (2, 92): "Sublocation", (2, 95): "Region", (2, 101): "Country",
                (2, 55): "Date created"}
# XMP is XML; RE2 pulls out the few place tags in linear time without an XML parser.
_XMP_PLACE = compile_pattern(
    r"(photoshop:City|photoshop:State|photoshop:Country|Iptc4xmpCore:Location"
    r"|Iptc4xmpCore:Sublocation|exif:GPSAreaInformation)\s*(?:=\s*\"([^\"]{1,200})\"|>([^<]{1,200})<)"
)
_XMP_LABEL = {"photoshop:City": "City", "photoshop:State": "Region",
              "photoshop:Country": "Country", "Iptc4xmpCore:Location": "Location",
              "Iptc4xmpCore:Sublocation": "Sublocation", "exif:GPSAreaInformation": "Area"}
PLACE_LABELS = frozenset({"City", "Region", "Country", "Location", "Sublocation", "Area"})
TIME_LABELS = frozenset({"Taken", "Digitised", "Modified", "GPS date", "Date created", "Time zone"})
DEVICE_LABELS = frozenset({"Camera make", "Camera model", "Software", "Lens", "Lens make",
                           "Serial number"})


def _open(data: bytes):
    from PIL import Image

    if len(data) > MAX_BYTES:
        raise InputError(f"the photo is too large ({len(data) // 1_000_000} MB; "
                         f"limit {MAX_BYTES // 1_000_000} MB)")
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError("the photo has too many pixels to check safely") from None
    except Exception:  # noqa: BLE001 - any decoder error means "not a photo we can read"
        raise InputError("the file is not an image that can be read (JPEG, PNG, WebP, TIFF...)") from None
    return img


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).replace("\x00", " ").split())[:200]


def _dms(value, ref) -> float | None:
    try:
        d, m, s = (float(x) for x in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    deg = d + m / 60 + s / 3600
    return -deg if _text(ref).upper() in ("S", "W") else deg


def _gps(gps: dict) -> tuple[float, float] | None:
    lat, lon = _dms(gps.get(2), gps.get(1)), _dms(gps.get(4), gps.get(3))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if (lat, lon) == (0.0, 0.0):  # some cameras write zeros when they have no fix
        return None
    return round(lat, 6), round(lon, 6)


def inspect_image(data: bytes) -> ImageReport:
    """What the photo's metadata reveals, as the contract's ImageReport."""
    img = _open(data)
    fields: dict[str, str] = {}
    exif = img.getexif()
    for tag, label in _BASE_FIELDS.items():
        if exif.get(tag):
            fields[label] = _text(exif[tag])
    for tag, label in _EXIF_FIELDS.items():
        value = exif.get_ifd(_EXIF_IFD).get(tag)
        if value:
            fields[label] = _text(value)
    gps_ifd = exif.get_ifd(_GPS_IFD)
    gps = _gps(gps_ifd) if gps_ifd else None
    if gps:
        fields["GPS"] = f"{gps[0]:.6f}, {gps[1]:.6f}"
    if gps_ifd.get(29):
        fields["GPS date"] = _text(gps_ifd[29])
    if gps_ifd.get(28):
        fields["Area"] = _text(gps_ifd[28])
    try:
        from PIL import IptcImagePlugin

        iptc = IptcImagePlugin.getiptcinfo(img) or {}
    except Exception:  # noqa: BLE001 - malformed IPTC is simply not reported
        iptc = {}
    for key, label in _IPTC_PLACES.items():
        if iptc.get(key):
            fields[label] = _text(iptc[key])
    xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    if xmp:
        xml = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else str(xmp)
        for m in _XMP_PLACE.finditer(xml[:1_000_000]):
            fields.setdefault(_XMP_LABEL[m.group(1)], _text(m.group(2) or m.group(3)))
    has_place = any(label in fields for label in PLACE_LABELS)
    return ImageReport(has_location=bool(gps) or has_place, gps=gps, fields=fields)


def image_findings(report: ImageReport) -> list[Finding]:
    """Findings for the photo: location data cites sm-8c. Times and device are reported only."""
    found: list[Finding] = []
    if report.gps:
        found.append(Finding(
            rule="image-gps", paragraph="sm-8c", topic="location", source="rules", severity="high",
            kind="gps", quote=report.fields.get("GPS"),
            message="The photo carries GPS coordinates of where it was taken.",
            suggestion="Post the stripped copy, or turn off location tagging in the camera app.",
        ))
    places = [report.fields[k] for k in sorted(PLACE_LABELS) if k in report.fields]
    if places:
        found.append(Finding(
            rule="image-place", paragraph="sm-8c", topic="location", source="rules",
            severity="medium", kind="location", quote=", ".join(places),
            message="The photo's metadata names the place it was taken.",
            suggestion="Post the stripped copy, which has no place names.",
        ))
    return found


def attach(result: Result, report: ImageReport | None) -> Result:
    """The photo's findings join the draft's; the verdict is recomputed over both."""
    if report is None:
        return result
    findings = merge([*result.findings, *image_findings(report)])
    return result.model_copy(update={"findings": findings, "verdict": verdict_for(findings),
                                     "image": report})


def strip_metadata(data: bytes) -> tuple[bytes, str]:
    """A copy with pixels only (orientation applied), no EXIF/GPS/IPTC/XMP. Returns (bytes, ext)."""
    from PIL import Image, ImageOps

    img = _open(data)
    fmt = (img.format or "PNG").upper()
    img = ImageOps.exif_transpose(img)  # keep the picture upright once the orientation tag is gone
    # A fresh image from raw pixels carries none of the source's info/exif/xmp.
    clean = Image.frombytes(img.mode, img.size, img.tobytes())
    if img.mode == "P" and img.getpalette():
        clean.putpalette(img.getpalette())
    out = io.BytesIO()
    if fmt in ("JPEG", "MPO"):
        if clean.mode not in ("RGB", "L", "CMYK"):
            clean = clean.convert("RGB")
        clean.save(out, "JPEG", quality=95)
        return out.getvalue(), "jpg"
    if fmt == "WEBP":
        clean.save(out, "WEBP", quality=95)
        return out.getvalue(), "webp"
    clean.save(out, "PNG")
    return out.getvalue(), "png"
