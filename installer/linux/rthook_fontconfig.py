"""Runtime hook of the Linux bundle: fontconfig settings where the system has none.

A minimal system without fontconfig's configuration makes the bundled fontconfig complain at
start-up and find no system fonts; the bundle's own settings (installer/linux/fonts.conf) name
the usual font folders instead. A system's own configuration always wins.
"""

import os
import sys

if not os.environ.get("FONTCONFIG_FILE") and not os.path.exists("/etc/fonts/fonts.conf"):
    os.environ["FONTCONFIG_FILE"] = os.path.join(sys._MEIPASS, "fontconfig", "fonts.conf")
