from hypothesis import given
from hypothesis import strategies as st

from geo.frames import LocalFrame, LonLat


@given(st.floats(-0.2, 0.2), st.floats(-0.2, 0.2))
def test_round_trip_under_a_centimetre(dlon: float, dlat: float) -> None:
    frame = LocalFrame(origin=LonLat(-99.215, 19.365))
    p = LonLat(-99.215 + dlon, 19.365 + dlat)
    back = frame.to_lonlat(frame.to_local(p))
    # 1e-7 degrees is about 1 cm at this latitude
    assert abs(back.lon - p.lon) < 1e-8 and abs(back.lat - p.lat) < 1e-8
