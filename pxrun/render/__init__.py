"""SHOW: Plan -> human text / JSON. Pure.

All human wording about plans lives here, so new outputs never touch the diff logic.
"""
