"""Regenerate the sample data: `python -m cardkit.sample.make_samples` (from a checkout).

Writes `cards.csv` (the rows below, numbers as people type them), `cards.xlsx` (the same
rows with numbers stored as numbers, as Excel does when nobody formats the column as
Text) and `photos/` (small generated avatars, plus the photos that need fixing and the
broken ones). Every good row's number is owned in the sandbox's default seed (see
docs/ARCHITECTURE.md); each usual mistake appears once.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
PHOTOS = HERE / "photos"

HEADERS = [
    "Phone", "First Name", "Last Name", "Photo", "Provider",
    "Sharing", "Sharing Audience", "Name Format", "Notes",
]

# (phone as typed, first, last, photo, provider, sharing, audience, name format, notes)
ROWS = [
    ("(415) 555-2671", "Ana", "Ruiz", "photos/ana.jpg", "", "yes", "contacts only", "first & last", "Blooio, sharing on"),
    ("415.555.2672", "Ben", "Okafor", "photos/ben.png", "", "yes", "always ask", "first only", "Blooio, sharing on"),
    ("14155552673.0", "Chloé", "Martin", "photos/chloe.jpg", "", "", "", "", "Excel added .0"),
    ("+1 212 555 0123", "Dana", "Kim", "photos/rotated_exif.jpg", "", "", "", "", "photo needs EXIF rotation"),
    ("310-555-1234", "Eli", "Cohen", "photos/big_wide.jpg", "", "", "", "", "big landscape photo"),
    ("1 (617) 555-0199", "Fatima", "Haddad", "photos/cmyk.jpg", "", "", "", "", "CMYK photo"),
    ("202 555 0147", "Gus", "Lee", "photos/gus.jpg", "Blooio", "", "", "", "standard plan: photo refused"),
    ("+1-312-555-0182", "Hana", "Sato", "photos/transparent.png", "", "", "", "", "transparent PNG"),
    ("(512) 555-0110", "Ivan", "Petrov", "photos/ivan.jpg", "sendblue", "", "", "", ""),
    ("4155552674", "Jade", "Wong", "https://example.com/photos/jade.jpg", "", "", "", "", "photo by URL"),
    ("+1 415 555 2675", "Kofi", "Mensah", "photos/animated.gif", "", "", "", "", "animated GIF"),
    ("206.555.0155", "Lena", "Fischer", "photos/lena.jpg", "", "", "", "", ""),
    ("718-555-0123", "Marco", "Rossi", "photos/marco.png", "", "", "", "", ""),
    ("(408) 555-0111", "Nia", "Brown", "photos/nia.jpg", "", "", "", "", ""),
    ("917 555 0133", "Omar", "Farouk", "", "", "", "", "", "no photo"),
    ("+1 646 555 0188", "Priya", "Nair", "photos/priya.jpg", "Linq", "", "", "", ""),
    ("0049 151 23456789", "Sven", "Müller", "photos/sven.jpg", "", "", "", "", "German mobile, 00 prefix"),
    ("+1 702 555 0144", "Tara", "Singh", "photos/tara.jpg", "", "", "", "", "no provider owns this number"),
    ("323-555-0177", "", "Quinn", "photos/nia.jpg", "", "", "", "", "first name missing"),
    ("404 555 0166", "Rosa\x07", "Diaz", "photos/lena.jpg", "", "", "", "", "control character in name"),
    ("555-0100", "Uma", "Patel", "photos/ana.jpg", "", "", "", "", "area code missing"),
    ("+1 415-555-2671", "Ana", "Ruiz", "photos/ana.jpg", "", "", "", "", "same number as row 2"),
    ("1.41555E+10", "Victor", "Hugo", "", "", "", "", "", "Excel scientific notation"),
    ("(503) 555-0101", "Wanda", "Featherstonehaugh-Cholmondeley of the Northern Lights Trading Company Ltd", "", "", "", "", "", "name too long"),
    ("(503) 555-0102", "Xavier", "Lopez", "photos/missing.jpg", "", "", "", "", "photo file missing"),
    ("(503) 555-0103", "Yuki", "Tanaka", "photos/truncated.jpg", "", "", "", "", "photo cut short"),
    ("(503) 555-0104", "Zoe", "Adams", "photos/not_an_image.jpg", "", "", "", "", "text file named .jpg"),
]

AVATARS = {  # file -> (initials, background colour)
    "ana.jpg": ("AR", (46, 134, 193)),
    "ben.png": ("BO", (39, 174, 96)),
    "chloe.jpg": ("CM", (142, 68, 173)),
    "gus.jpg": ("GL", (211, 84, 0)),
    "ivan.jpg": ("IP", (22, 160, 133)),
    "lena.jpg": ("LF", (192, 57, 43)),
    "marco.png": ("MR", (41, 128, 185)),
    "nia.jpg": ("NB", (243, 156, 18)),
    "priya.jpg": ("PN", (155, 89, 182)),
    "sven.jpg": ("SM", (52, 73, 94)),
    "tara.jpg": ("TS", (230, 126, 34)),
}


def avatar(initials: str, colour: tuple[int, int, int], size: tuple[int, int] = (600, 600)) -> Image.Image:
    """A flat avatar with initials: compresses to a few kB, looks fine in a demo."""
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=min(size) // 3)
    draw.text((size[0] / 2, size[1] / 2), initials, fill="white", font=font, anchor="mm")
    return image


def write_photos() -> None:
    PHOTOS.mkdir(exist_ok=True)
    for name, (initials, colour) in AVATARS.items():
        image = avatar(initials, colour, (560, 560) if name.endswith(".png") else (600, 600))
        image.save(PHOTOS / name, quality=80) if name.endswith(".jpg") else image.save(PHOTOS / name, optimize=True)

    # big and not square: a landscape with a sky gradient
    wide = Image.linear_gradient("L").resize((2000, 1250)).convert("RGB")
    wide = Image.merge("RGB", (wide.getchannel(0).point(lambda v: v // 3), wide.getchannel(0).point(lambda v: 90 + v // 3), Image.new("L", wide.size, 200)))
    ImageDraw.Draw(wide).text((1000, 625), "EC", fill="white", font=ImageFont.load_default(size=420), anchor="mm")
    wide.save(PHOTOS / "big_wide.jpg", quality=60)

    # stored sideways with EXIF orientation 6 ("rotate 90° clockwise to show"): the
    # initials only read upright once the orientation is applied
    sideways = avatar("DK", (26, 188, 156), (640, 640)).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways.save(PHOTOS / "rotated_exif.jpg", quality=80, exif=exif)

    avatar("FH", (200, 60, 90)).convert("CMYK").save(PHOTOS / "cmyk.jpg", quality=80)

    transparent = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    draw = ImageDraw.Draw(transparent)
    draw.ellipse((16, 16, 496, 496), fill=(231, 76, 60, 255))
    draw.text((256, 256), "HS", fill="white", font=ImageFont.load_default(size=170), anchor="mm")
    transparent.save(PHOTOS / "transparent.png", optimize=True)

    frames = [avatar("KM", colour, (500, 500)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
              for colour in ((52, 152, 219), (46, 204, 113))]
    frames[0].save(PHOTOS / "animated.gif", save_all=True, append_images=frames[1:], duration=500, loop=0)

    whole = io.BytesIO()
    avatar("YT", (127, 140, 141)).save(whole, "JPEG", quality=80)
    (PHOTOS / "truncated.jpg").write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])

    (PHOTOS / "not_an_image.jpg").write_text("This is a note, not a photo. Someone renamed it to .jpg.\n")


def write_csv() -> None:
    with open(HERE / "cards.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(ROWS)


def write_xlsx() -> None:
    """The same rows, numbers stored as numbers (the digits only), as Excel keeps them."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Cards"
    sheet.append(HEADERS)
    for phone, *rest in ROWS:
        if "E+" in phone:
            value: object = phone  # already text: Excel showed it that way when it was saved
        elif phone.endswith(".0"):
            value = float(phone)
        else:
            value = int("".join(ch for ch in phone if ch.isdigit()))  # the + and 00 are lost
        # XML cannot hold a BEL: in the workbook the stray character is a zero-width space,
        # the one people paste from web pages
        sheet.append([value, *(cell.replace("\x07", "\u200b") for cell in rest)])
    workbook.save(HERE / "cards.xlsx")


if __name__ == "__main__":
    write_photos()
    write_csv()
    write_xlsx()
    total = sum(p.stat().st_size for p in PHOTOS.iterdir())
    print(f"wrote cards.csv, cards.xlsx and {len(list(PHOTOS.iterdir()))} photos ({total / 1024:.0f} kB)")
