"""Pages: the protocol gallery and the playground. Everything live goes over the WebSocket (consumers.py)."""

from django.contrib.staticfiles import finders
from django.http import Http404, JsonResponse
from django.templatetags.static import static
from django.shortcuts import render

from simulator.errors import ScenarioError
from simulator.interventions import describe_common
from simulator.protocols import all_protocols, get_protocol

from .models import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH
from .selectors import teaching_mutations
from .session import SPEED_MAX, SPEED_MIN


def home(request):
    cards = [p.describe() for p in all_protocols()]
    return render(request, "home.html", {"protocols": cards, "mutations": teaching_mutations()})


def play(request, protocol, saved=None, extra_config=None, template="play.html"):
    try:
        proto = get_protocol(protocol)
    except ScenarioError:
        raise Http404(f"no protocol named {protocol!r}") from None
    config = {
        "protocol": proto.describe(),
        "interventions": describe_common(),
        # a shared run opens at the speed its sharer watched it at; a fresh page at the protocol's own pace
        "speed": {"min": SPEED_MIN, "max": 1000.0, "server_max": SPEED_MAX,
                  "default": min(1000.0, (saved or {}).get("scenario", {}).get("speed") or proto.opening_speed)},
        "watch": request.GET.get("watch") or None,
        "presets": proto.presets(),
        # the protocol's view module, or None: the page then uses the generic view without asking for it
        "view_module": static(f"js/protocols/{proto.name}.js") if finders.find(f"js/protocols/{proto.name}.js")
        else None,
        "saved": saved,  # a saved scenario opened from its link (playground/pages.py)
        **(extra_config or {}),  # a lesson, an embed (playground/lessons.py)
    }
    share_limits = {"title": TITLE_MAX_LENGTH, "description": DESCRIPTION_MAX_LENGTH}  # the share dialog's fields
    return render(request, template, {"proto": proto.describe(), "config": config, "share_limits": share_limits})


def protocols_api(request):
    """What `python -m simulator protocols` prints: protocols with bounds, actions, selectors; the vocabulary."""
    return JsonResponse({"protocols": [p.describe() for p in all_protocols()], "interventions": describe_common()})


def healthz(request):
    return JsonResponse({"ok": True})
