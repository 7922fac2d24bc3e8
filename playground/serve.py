"""Start Daphne as the production image does: `python -m playground.serve [daphne options]`.

Binds 0.0.0.0:8000 unless told otherwise, and passes --proxy-headers (take client addresses from
X-Forwarded-For) only when settings.TRUSTED_PROXY says a proxy we control is in front: exposed directly, anyone
could forge that header and each forged address would get its own save rate limit.
"""

import os
import sys


def daphne_argv(extra=()):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    from django.conf import settings

    argv = ["-b", "0.0.0.0", "-p", "8000", *extra]
    if settings.TRUSTED_PROXY:
        argv.append("--proxy-headers")
    return [*argv, "playground.asgi:application"]


def main():
    from daphne.cli import CommandLineInterface

    CommandLineInterface().run(daphne_argv(sys.argv[1:]))


if __name__ == "__main__":
    main()
