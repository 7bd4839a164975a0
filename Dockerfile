# citydata on the official Airflow image: every Airflow component (api-server, scheduler,
# dag-processor, triggerer, Celery worker) and the department mocks run from this one image.
FROM apache/airflow:3.3.2-python3.11

# The project lives in /opt/citydata and is installed editable: the library finds include/
# (registry, SQL files) and expectations/ next to its package, as in a checkout.
USER root
# Mount points of the named volumes, owned by airflow so a fresh volume is writable.
RUN mkdir -p /opt/citydata/state/watch /data/zone/landing /opt/airflow/secrets \
    && chown -R airflow:root /opt/citydata /data/zone /opt/airflow/secrets
USER airflow
WORKDIR /opt/citydata

# The lock first (cached layer): the same pinned stack CI tests, apache-airflow==3.3.2 included,
# so pip never upgrades or downgrades the image's Airflow.
COPY --chown=airflow:root requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY --chown=airflow:root pyproject.toml README.md ./
COPY --chown=airflow:root citydata ./citydata
COPY --chown=airflow:root include ./include
COPY --chown=airflow:root expectations ./expectations
COPY --chown=airflow:root dags ./dags
COPY --chown=airflow:root plugins ./plugins
RUN pip install --no-cache-dir --no-deps -e . && citydata --help >/dev/null

ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/citydata/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/citydata/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    CITYDATA_HOME=/opt/citydata/state \
    CITYDATA_LANDING_DIR=/data/zone/landing
WORKDIR /opt/airflow
