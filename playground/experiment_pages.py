"""The experiments pages (/experiments/, /experiments/<slug>/) and their WebSocket (/ws/experiments/), thin: the
work is in playground/experiments.py. Protocol: docs/experiments.md "On the page"."""

import json

from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from simulator.errors import PlaygroundError

from .experiments import ExperimentRefused, ExperimentRun, experiment_catalog, experiment_summary
from .inputs import BadInput, parse_json


@require_GET
def experiments_index(request):
    return render(request, "experiments.html", {"experiments": experiment_catalog()})


@require_GET
def experiment_page(request, slug):
    """One experiment; ?trials=&seed=&rows=0,2&run=1 (a saved link) fills the form in and runs it on opening."""
    try:
        summary = experiment_summary(slug)
    except ExperimentRefused:
        raise Http404(f"no experiment {slug!r}") from None
    config = {**summary, "query": {k: request.GET[k] for k in ("trials", "seed", "rows", "run") if k in request.GET},
              "uplot": static("vendor/uplot/uPlot.esm.js")}
    return render(request, "experiment.html", {"experiment": summary, "config": config})


class ExperimentConsumer(AsyncWebsocketConsumer):
    """`{"type": "run", "experiment", "trials", "seed", "rows"}` and `{"type": "cancel"}`; answers `started`,
    `progress`, `result`, `cancelled`, `error` (typed). Leaving cancels the run."""

    async def connect(self):
        self.run = ExperimentRun(self.send_json, name=self.channel_name)
        await self.accept()

    async def send_json(self, msg):
        await self.send(text_data=json.dumps(msg, separators=(",", ":")))

    async def receive(self, text_data=None, bytes_data=None):
        try:
            msg = parse_json(text_data or "")
            if not isinstance(msg, dict):
                raise ExperimentRefused("bad_message", "a message is a JSON object with a type")
            kind = msg.get("type")
            if kind == "run":
                await self.run.start(msg)
            elif kind == "cancel":
                if not await self.run.cancel():
                    await self.send_json({"type": "cancelled"})
            else:
                raise ExperimentRefused("unknown_type", "type: run or cancel", "type")
        except BadInput as err:
            await self.send_json({"type": "error", "code": err.code, "message": err.message, "field": err.field})
        except PlaygroundError as err:
            await self.send_json({"type": "error", **err.as_dict()})

    async def disconnect(self, code):
        await self.run.close()
