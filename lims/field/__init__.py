"""At the stand and in public: ``stand`` (a test from pick to verdict, the public result of a
sample), ``slips`` (the printed result slip with its QR code) and ``board`` (a market's public
result board)."""
