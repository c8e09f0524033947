"""The composition root: builds the running system from settings."""

from __future__ import annotations

from dataclasses import dataclass

from application.spaces import SpacesApplication
from infrastructure.event_store import event_store_env
from infrastructure.live import LiveEvents
from infrastructure.rate_limit import RateLimiter
from infrastructure.settings import Settings
from infrastructure.tokens import TokenSigner, load_or_create_secret
from infrastructure.views import ViewDatabase
from projections.runner import ProjectionRunner


@dataclass
class System:
    settings: Settings
    app: SpacesApplication
    views: ViewDatabase
    projections: ProjectionRunner
    tokens: TokenSigner
    live: LiveEvents
    reactions: RateLimiter

    def close(self) -> None:
        self.projections.stop()
        self.app.close()


def build(settings: Settings) -> System:
    app = SpacesApplication(event_store_env(settings), stage_limit=settings.stage_limit)
    in_memory = settings.event_store == "memory"
    views = ViewDatabase(None if in_memory else str(settings.data_dir / "views.sqlite"))
    secret = load_or_create_secret(settings.secret, settings.data_dir) if not in_memory \
        else (settings.secret or "in-memory-secret")
    return System(
        settings=settings,
        app=app,
        views=views,
        projections=ProjectionRunner(app, views),
        tokens=TokenSigner(secret, settings.token_ttl_days * 86400),
        live=LiveEvents(),
        reactions=RateLimiter(settings.reactions_per_second, settings.reaction_burst),
    )
