"""MLflow tables (sortable and filterable in the run's artifact view) that a re-report replaces, not appends to.

`MlflowClient.log_table` appends to an existing table; a resumed study reports again, so the table is written
here in log_table's format (pandas split JSON) and registered under the same run tag the UI reads.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient

LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"  # where MLflow lists a run's tables for its UI


def log_table(client: MlflowClient, run_id: str, rows: list[dict[str, Any]], artifact_file: str) -> None:
    """`rows` as the table `artifact_file` (a `.json` name) of `run_id`, replacing an earlier one."""
    import pandas as pd

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(artifact_file).name
        pd.DataFrame(rows).to_json(path, orient="split", index=False, date_format="iso")
        directory = str(Path(artifact_file).parent)
        client.log_artifact(run_id, str(path), None if directory == "." else directory)
    listed = json.loads(client.get_run(run_id).data.tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
    entry = {"path": artifact_file, "type": "table"}
    if entry not in listed:
        client.set_tag(run_id, LOGGED_ARTIFACTS_TAG, json.dumps([*listed, entry]))
