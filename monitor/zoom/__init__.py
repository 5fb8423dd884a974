"""The Zoom REST API: a rate-limited, retrying client (:mod:`monitor.zoom.client`) and a
local fake of the API (:mod:`monitor.zoom.fake`) for tests and the simulator.

See docs/zoom-api.md.
"""
