"""Serial drivers and protocol codecs. Pure: bytes in, typed readings out. Never imports lims/ or dashboards/."""
