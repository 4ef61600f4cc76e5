"""Draw dbcomm's application icon: an open book under a star, on the province's blue.

Writes src/dbcomm/icons/dbcomm.png (256 px) and dbcomm.ico (16–256 px) for the window,
the Windows installer and the Linux desktop entry. Run again only to change the design.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 1024  # drawn large, then reduced: smooth edges at every size


def draw() -> Image.Image:
    s = SIZE
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    d.rounded_rectangle((40, 40, s - 40, s - 40), radius=190, fill=(23, 78, 150, 255))
    # the open book: two pages meeting at the spine
    white, shade = (255, 255, 255, 255), (214, 228, 245, 255)
    spine_top, spine_bottom = (s // 2, 470), (s // 2, 850)
    d.polygon([spine_top, (175, 400), (175, 780), spine_bottom], fill=white)
    d.polygon([spine_top, (s - 175, 400), (s - 175, 780), spine_bottom], fill=shade)
    for i in range(4):  # lines of text on each page
        y = 520 + i * 70
        d.line([(235, y - 40), (s // 2 - 45, y)], fill=(23, 78, 150, 255), width=22)
        d.line([(s - 235, y - 40), (s // 2 + 45, y)], fill=(23, 78, 150, 255), width=22)
    # the star above the book
    d.regular_polygon((s // 2, 255, 135), 5, rotation=0, fill=(250, 200, 40, 255))
    d.regular_polygon((s // 2, 255, 135), 5, rotation=36, fill=(250, 200, 40, 255))
    return image


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    big = draw()
    big.resize((256, 256), Image.LANCZOS).save(out / "dbcomm.png")
    big.resize((256, 256), Image.LANCZOS).save(
        out / "dbcomm.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "src" / "dbcomm" / "icons")
