"""Alembic environment: run with a connection handed over in `config.attributes`."""
from alembic import context
from sqlalchemy import create_engine

from ordinance.adapters import models_orchestration  # noqa: F401 - its tables on Base
from ordinance.adapters import models_simulations  # noqa: F401 - its tables on Base
from ordinance.adapters import models_rollout  # noqa: F401 - its tables on Base
from ordinance.adapters import models_supply  # noqa: F401 - its tables on Base
from ordinance.adapters.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=target_metadata,
                              render_as_batch=True)
            context.run_migrations()
        engine.dispose()
        return
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True)
    context.run_migrations()


run()
