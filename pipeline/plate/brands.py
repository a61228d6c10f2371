"""Makers whose names appear on industrial nameplates, with the other ways plates spell them.

Data, not logic: extraction looks each alias up in the OCR text (folded, one edit allowed for names of five or
more characters). A logo is never read as a name, so a plate that shows only a logo yields no manufacturer.
"""

from __future__ import annotations

BRANDS: dict[str, tuple[str, ...]] = {
    "ABB": ("ABB",),
    "Allen-Bradley": ("Allen-Bradley", "Allen Bradley", "A-B", "Rockwell Automation", "Rockwell"),
    "Siemens": ("Siemens", "SIMOTICS", "SINAMICS", "SIMATIC"),
    "Schneider Electric": ("Schneider Electric", "Schneider", "Telemecanique", "Square D", "Altivar"),
    "Mitsubishi Electric": ("Mitsubishi Electric", "Mitsubishi", "MELSEC"),
    "Omron": ("Omron",),
    "Yaskawa": ("Yaskawa",),
    "Danfoss": ("Danfoss", "VLT"),
    "WEG": ("WEG",),
    "Baldor": ("Baldor", "Baldor-Reliance", "Reliance Electric"),
    "Leeson": ("Leeson",),
    "Marathon": ("Marathon Electric", "Marathon"),
    "Nidec": ("Nidec", "US Motors", "U.S. Motors"),
    "Emerson": ("Emerson", "Control Techniques"),
    "Eaton": ("Eaton", "Cutler-Hammer", "Moeller"),
    "Delta Electronics": ("Delta Electronics", "DELTA"),
    "Fuji Electric": ("Fuji Electric",),
    "Hitachi": ("Hitachi",),
    "Toshiba": ("Toshiba",),
    "Lenze": ("Lenze",),
    "SEW-Eurodrive": ("SEW-Eurodrive", "SEW Eurodrive", "Eurodrive"),
    "Nord": ("NORD Drivesystems", "Getriebebau Nord"),
    "Bosch Rexroth": ("Bosch Rexroth", "Rexroth"),
    "Festo": ("Festo",),
    "Beckhoff": ("Beckhoff",),
    "Phoenix Contact": ("Phoenix Contact",),
    "Pilz": ("Pilz",),
    "SICK": ("SICK AG",),
    "Keyence": ("Keyence",),
    "Lafert": ("Lafert",),
    "Grundfos": ("Grundfos",),
    "KSB": ("KSB",),
    "Regal Rexnord": ("Regal Rexnord", "Regal Beloit"),
    "Toshiba International": ("TIC",),
    "GE": ("General Electric",),
    "Huanyang": ("Huanyang", "环洋"),
    "INVT": ("INVT", "英威腾"),
    "Inovance": ("Inovance", "汇川"),
}
