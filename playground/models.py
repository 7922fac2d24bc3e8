"""Saved scenarios: the rows behind share links (/s/<slug>).

A Scenario is immutable once saved: its `scenario` is the full, normalised scenario (seed, parameters,
network, every intervention at its simulated time, duration, node layout), exactly what
`python -m simulator run` replays, so a link shows the same run forever. A change makes a new row,
whose `forked_from` points at the one it came from.

Writes go through playground.services (scenario_create), reads through playground.selectors.
"""

import secrets

from django.db import models
from django.utils import timezone

from simulator.scenario import DESCRIPTION, TITLE

# Base58 (no 0/O/I/l, no - or _): unguessable, easy to read aloud from a projector, and safe at the end of a
# URL pasted into a chat (linkifiers often drop a trailing - or _).
SLUG_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
SLUG_LENGTH = 12  # 58**12 ~ 2**70
SLUG_MAX_LENGTH = 32
# The scenario format's own limits (simulator/scenario.py): the share dialog's maxlength and the API's
# `invalid_scenario` errors say the same.
TITLE_MAX_LENGTH = TITLE.max_length  # 200
DESCRIPTION_MAX_LENGTH = DESCRIPTION.max_length  # 4000


def new_slug():
    return "".join(secrets.choice(SLUG_ALPHABET) for _ in range(SLUG_LENGTH))


class ImmutableScenario(Exception):
    """Raised on any attempt to change a saved scenario: save a new one instead (scenario_create)."""


class ScenarioQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableScenario("saved scenarios are immutable: create a new one (forked_from the old)")

    update.queryset_only = True

    def bulk_update(self, objs, fields, batch_size=None):
        raise ImmutableScenario("saved scenarios are immutable: create a new one (forked_from the old)")


class Scenario(models.Model):
    slug = models.CharField(max_length=SLUG_MAX_LENGTH, unique=True, editable=False)
    title = models.CharField(max_length=TITLE_MAX_LENGTH, blank=True, editable=False)
    description = models.TextField(blank=True, editable=False)
    protocol = models.CharField(max_length=40, db_index=True, editable=False)
    scenario = models.JSONField(editable=False, help_text="the full normalised scenario, as the CLI runs it")
    layout = models.JSONField(null=True, blank=True, editable=False,
                              help_text="node id -> [x, y] in 0..1 (also inside `scenario`)")
    digest = models.CharField(max_length=64, db_index=True, editable=False,
                              help_text="sha256 of the canonical JSON of `scenario`")
    preset = models.CharField(max_length=80, blank=True, default="", db_index=True, editable=False,
                              help_text="curated preset key (e.g. raft-split-vote) if this is one")
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    # SET_NULL: deleting a scenario (moderation, from the admin) only clears its forks' provenance.
    forked_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="forks", editable=False)
    # The behaviour versions the run was recorded under (simulator.versions): a link replays under the code that
    # serves it, so /s/<slug> says when these differ from the server's. Rows saved before versions were kept
    # were recorded under version 1 of everything, hence the default.
    protocol_version = models.CharField(max_length=20, default="1", editable=False,
                                        help_text="the protocol's `version` when this was saved")
    engine_version = models.CharField(max_length=20, default="1", editable=False,
                                      help_text="simulator.ENGINE_VERSION when this was saved")

    objects = ScenarioQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # one row per version of a preset (its definition and the code it runs under): get-or-create at
            # first request is race-safe
            models.UniqueConstraint(fields=["preset", "digest", "protocol_version", "engine_version"],
                                    condition=~models.Q(preset=""), name="scenario_preset_version_unique"),
        ]

    def __str__(self):
        return f"{self.slug} · {self.title or self.protocol}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableScenario(f"scenario {self.slug} is saved and cannot change: create a new one")
        if not self.slug:
            self.slug = new_slug()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return f"/s/{self.slug}"

    @property
    def duration(self):
        return self.scenario.get("duration")

    @property
    def versions(self):
        return {"protocol": self.protocol_version, "engine": self.engine_version}

    @property
    def intervention_count(self):
        return len(self.scenario.get("interventions", ()))
