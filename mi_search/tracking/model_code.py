"""The registered model's code, for MLflow's models-from-code logging: MLflow runs this file, so nothing is pickled.

Never imported by mi-search itself: `set_model` below is this file's whole purpose when MLflow executes it.
"""

from mlflow.models import set_model

from mi_search.tracking.pyfunc_model import MergedModel

set_model(MergedModel())
