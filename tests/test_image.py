"""Photo metadata (sm-8c): GPS, place names, timestamps, device reported; stripped copy is clean."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from reviewer.errors import InputError
from reviewer.image import image_findings, inspect_image, strip_metadata

XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="Leeds">'
       b'<photoshop:Country>United Kingdom</photoshop:Country></rdf:Description></rdf:RDF></x:xmpmeta>')


def photo(fmt="JPEG", gps=True, xmp=False, device=True) -> bytes:
    img = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    if device:
        exif[271] = "Apple"
        exif[272] = "iPhone 13"
        exif.get_ifd(0x8769)[36867] = "2024:05:01 14:22:10"
    if gps:
        exif.get_ifd(0x8825).update({1: "N", 2: (53.0, 47.0, 59.4), 3: "W", 4: (1.0, 32.0, 52.2),
                                     29: "2024:05:01"})
    out = io.BytesIO()
    kwargs = {"exif": exif}
    if xmp:
        kwargs["xmp"] = XMP
    img.save(out, fmt, **kwargs)
    return out.getvalue()


def test_gps_device_and_time_are_reported():
    report = inspect_image(photo())
    assert report.has_location
    lat, lon = report.gps
    assert lat == pytest.approx(53.7998, abs=1e-3) and lon == pytest.approx(-1.5478, abs=1e-3)
    assert report.fields["Camera make"] == "Apple"
    assert report.fields["Camera model"] == "iPhone 13"
    assert report.fields["Taken"] == "2024:05:01 14:22:10"
    assert report.fields["GPS date"] == "2024:05:01"


def test_gps_finding_cites_sm_8c():
    findings = image_findings(inspect_image(photo()))
    gps = [f for f in findings if f.kind == "gps"]
    assert len(gps) == 1
    assert (gps[0].paragraph, gps[0].topic, gps[0].severity) == ("sm-8c", "location", "high")


def test_place_names_from_xmp():
    report = inspect_image(photo(gps=False, xmp=True))
    assert report.fields["City"] == "Leeds"
    assert report.fields["Country"] == "United Kingdom"
    assert report.has_location and report.gps is None
    kinds = [f.kind for f in image_findings(report)]
    assert kinds == ["location"]


def test_photo_without_metadata_has_no_findings():
    report = inspect_image(photo(gps=False, device=False))
    assert not report.has_location and report.fields == {}
    assert image_findings(report) == []


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_stripped_copy_has_no_metadata(fmt):
    data = photo(fmt, xmp=fmt == "JPEG")
    assert inspect_image(data).fields  # the original does carry metadata
    clean, ext = strip_metadata(data)
    assert ext == {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[fmt]
    report = inspect_image(clean)
    assert report.fields == {} and not report.has_location
    img = Image.open(io.BytesIO(clean))
    assert img.size == (32, 24)
    assert not img.getexif() and "xmp" not in img.info
    assert img.convert("RGB").getpixel((5, 5))[0] > 150  # the picture itself survives


def test_orientation_is_applied_before_the_tag_is_dropped():
    img = Image.new("RGB", (40, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° on display
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    clean, _ = strip_metadata(out.getvalue())
    assert Image.open(io.BytesIO(clean)).size == (10, 40)


def test_not_an_image_is_an_input_error():
    with pytest.raises(InputError, match="not an image"):
        inspect_image(b"Saw Mrs Patel today")


# --- `reviewer check --image` -------------------------------------------------------------

def _cli(*args: str, stdin: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "reviewer", "check", "-", *args], input=stdin,
                          text=True, capture_output=True, timeout=120)


def test_cli_image_gps_turns_a_clean_draft_into_a_location_finding(tmp_path):
    import json

    pic = tmp_path / "walk.jpg"
    pic.write_bytes(photo())
    clean = "Lovely walk before clinic today."
    plain = _cli("--rules-only", "--format", "json", stdin=clean)
    assert plain.returncode == 0 and json.loads(plain.stdout)["verdict"] == "ok"
    done = _cli("--rules-only", "--format", "json", "--image", str(pic), stdin=clean)
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] != "ok"
    assert result["image"]["has_location"] is True
    assert [f["rule"] for f in result["findings"]] == ["image-gps"]
    text = _cli("--rules-only", "--image", str(pic), stdin=clean)
    assert "photo metadata: gives away where it was taken" in text.stdout
    assert "iPhone 13" in text.stdout


def test_cli_strip_image_writes_a_clean_copy_and_never_overwrites(tmp_path):
    pic = tmp_path / "walk.jpg"
    pic.write_bytes(photo(xmp=True))
    out = tmp_path / "walk-clean.jpg"
    done = _cli("--rules-only", "--image", str(pic), "--strip-image", str(out), stdin="Nice day.")
    assert done.returncode == 1 and out.is_file()
    again = inspect_image(out.read_bytes())
    assert again.fields == {} and not again.has_location
    # The original is never a target, nor any existing file.
    before = pic.read_bytes()
    clash = _cli("--rules-only", "--image", str(pic), "--strip-image", str(pic), stdin="Nice day.")
    assert clash.returncode == 2 and "already exists" in clash.stderr
    assert "Traceback" not in clash.stderr and pic.read_bytes() == before


@pytest.mark.parametrize("setup, message", [
    (lambda d: d / "missing.jpg", "photo not found"),
    (lambda d: d, "is a folder"),
    (lambda d: (d / "notes.jpg").write_text("not an image") and d / "notes.jpg", "not an image"),
])
def test_cli_bad_image_is_a_clear_error(tmp_path, setup, message):
    path = setup(tmp_path)
    done = _cli("--rules-only", "--image", str(path), stdin="Nice day.")
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_cli_strip_image_needs_image(tmp_path):
    done = _cli("--rules-only", "--strip-image", str(tmp_path / "x.jpg"), stdin="Nice day.")
    assert done.returncode == 2 and "--strip-image needs --image" in done.stderr
