"""Signature and seal images made in the tests: a blue scribble and a red round seal, both
transparent PNGs like those offices scan."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def blue_signature(width: int = 300, height: int = 150) -> bytes:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = [(int(width * (0.05 + 0.9 * i / 40)), int(height * (0.5 + 0.3 * ((-1) ** i) * (i % 5) / 5)))
              for i in range(41)]
    draw.line(points, fill=(20, 40, 190, 255), width=5)
    return _png(image)


def red_seal(size: int = 400) -> bytes:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    red = (210, 20, 30, 235)
    draw.ellipse((4, 4, size - 5, size - 5), outline=red, width=12)
    draw.ellipse((size * 0.2, size * 0.2, size * 0.8, size * 0.8), outline=red, width=6)
    draw.regular_polygon((size / 2, size / 2, size * 0.12), 5, fill=red)
    return _png(image)


def opaque_png() -> bytes:
    return _png(Image.new("RGB", (200, 200), (210, 20, 30)))


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 200), (210, 20, 30)).save(out, "JPEG")
    return out.getvalue()
