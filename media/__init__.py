"""The aiortc media layer (audio forwarding, one mix per Space): see the media issue."""
