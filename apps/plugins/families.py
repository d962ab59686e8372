"""Kestra's plugin families, for naming what an unknown type belongs to.

A flow written for Kestra may use a plugin Weir does not provide (`io.kestra.plugin.aws.s3.Upload`).
A near-match suggestion would then point at something unrelated; the validator names the family
instead ("belongs to Kestra's AWS plugin, which Weir does not provide"). A family Weir provides
in part (JDBC: PostgreSQL, SQLite, DuckDB) is told apart by its sub-package, so a typo inside a
provided sub-package still gets near-match suggestions.
"""

from __future__ import annotations

from collections.abc import Iterable

PREFIX = "io.kestra.plugin."

NAMES: dict[str, str] = {
    "aws": "AWS", "gcp": "GCP", "azure": "Azure", "kubernetes": "Kubernetes", "docker": "Docker",
    "jdbc": "JDBC", "serdes": "Serdes", "notifications": "Notifications", "fs": "File System (fs)",
    "transform": "Transform", "dbt": "dbt", "airbyte": "Airbyte", "fivetran": "Fivetran", "singer": "Singer",
    "spark": "Spark", "kafka": "Kafka", "mongodb": "MongoDB", "elasticsearch": "Elasticsearch",
    "snowflake": "Snowflake", "databricks": "Databricks", "git": "Git", "github": "GitHub",
    "ansible": "Ansible", "terraform": "Terraform", "openai": "OpenAI", "googleworkspace": "Google Workspace",
    "gcs": "GCP", "bigquery": "GCP", "scripts": "Scripts", "mqtt": "MQTT", "amqp": "AMQP", "nats": "NATS",
    "pulsar": "Pulsar", "debezium": "Debezium", "cloudquery": "CloudQuery", "sqlmesh": "SQLMesh",
    "dlt": "dlt", "modal": "Modal", "jira": "Jira", "linear": "Linear", "zendesk": "Zendesk",
    "hubspot": "HubSpot", "minio": "MinIO", "couchbase": "Couchbase", "cassandra": "Cassandra",
    "neo4j": "Neo4j", "opensearch": "OpenSearch", "solace": "Solace", "weaviate": "Weaviate",
    "surrealdb": "SurrealDB", "influxdb": "InfluxDB", "clickhouse": "ClickHouse", "duckdb": "DuckDB",
    "soda": "Soda", "great_expectations": "Great Expectations", "meilisearch": "Meilisearch",
    "ee": "Enterprise Edition", "redis": "Redis", "core": "core",
}

SUBNAMES: dict[str, str] = {
    "mysql": "MySQL", "oracle": "Oracle", "sqlserver": "SQL Server", "mariadb": "MariaDB",
    "clickhouse": "ClickHouse", "snowflake": "Snowflake", "redshift": "Redshift", "vertica": "Vertica",
    "trino": "Trino", "dremio": "Dremio", "druid": "Druid", "db2": "DB2", "pinot": "Pinot", "sybase": "Sybase",
    "arrowflight": "Arrow Flight", "as400": "AS400", "rockset": "Rockset", "vectorwise": "Vectorwise",
    "avro": "Avro", "parquet": "Parquet", "excel": "Excel", "xml": "XML", "discord": "Discord",
    "telegram": "Telegram", "twilio": "Twilio", "pagerduty": "PagerDuty", "opsgenie": "Opsgenie",
    "sendgrid": "SendGrid", "zenduty": "Zenduty", "whatsapp": "WhatsApp", "google": "Google Chat",
    "sentry": "Sentry", "squadcast": "Squadcast", "zulip": "Zulip", "line": "LINE", "signal": "Signal",
    "sftp": "SFTP", "ftp": "FTP", "ftps": "FTPS", "smb": "SMB", "ssh": "SSH", "vfs": "VFS", "local": "local",
    "jsonata": "JSONata", "grok": "Grok", "python": "Python", "shell": "Shell", "node": "Node.js", "r": "R",
    "julia": "Julia", "ruby": "Ruby", "powershell": "PowerShell", "go": "Go", "jbang": "JBang",
    "groovy": "Groovy", "nashorn": "Nashorn", "jython": "Jython",
}


MISTAKES: dict[str, str] = {
    "io.kestra.plugin.jdbc.postgresql.Load": "io.kestra.plugin.jdbc.postgresql.Batch",
    "io.kestra.plugin.redis.Put": "io.kestra.plugin.redis.string.Set",
    "io.kestra.plugin.notifications.email.EmailSend": "io.kestra.plugin.notifications.mail.MailSend",
    "io.kestra.plugin.core.namespace.CreateNamespace": "a namespace created in the UI, the API or `weir namespace create`",
    "io.kestra.plugin.core.namespace.UpdateNamespace": "the namespace settings in the UI or the API",
    "io.kestra.plugin.fs.Delete": "io.kestra.plugin.core.storage.Delete (internal storage)",
}
"""Types that tutorials invent (PLUGINS.md §12): no Kestra version has them; the fix to name."""


def missing_family(type_name: str, registered: Iterable[str]) -> str | None:
    """`"AWS"` for `io.kestra.plugin.aws.s3.Upload` when Weir registers nothing under that family
    (or that family's sub-package); None for core types and for provided (sub-)packages."""
    if not type_name.startswith(PREFIX):
        return None
    parts = type_name[len(PREFIX):].split(".")
    if len(parts) < 2 or parts[0] == "core":
        return None
    family = parts[0]
    names = list(registered)
    family_prefix = f"{PREFIX}{family}."
    if not any(n.startswith(family_prefix) for n in names):
        return NAMES.get(family, family.replace("_", " ").title())
    if len(parts) >= 3:
        sub_prefix = f"{family_prefix}{parts[1]}."
        if not any(n.startswith(sub_prefix) for n in names):
            return f"{NAMES.get(family, family.title())} {SUBNAMES.get(parts[1], parts[1].title())}"
    return None
