"""Protocol Playground's web front: Django project and app in one package.

The simulation itself lives in `simulator/` (no Django there); this package
serves the pages and streams live runs over WebSockets (Channels + Daphne).
"""
