"""The alphabet of every id tocsin mints (incidents, alert groups): no 0/o, 1/l/i, so an id
read aloud on a bridge call or copied from a phone screen is not misread."""

ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
