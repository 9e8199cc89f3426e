#!/usr/bin/env bash
# Prints the cameo-secrets Secret with freshly generated credentials, as YAML for `kubectl apply -f -`:
#   scripts/k8s-secrets.sh | kubectl apply -f -
# Run it once per deployment: DB_PASSWORD and RABBITMQ_PASSWORD initialise PostgreSQL and RabbitMQ on their first
# start, so new values would lock the app out of existing data. It refuses when the Secret already exists (unless
# --force). GOOGLE_API_KEY and OPENAI_API_KEY are copied from the environment when set.
# k8s/secret.template.yaml shows the keys.
set -euo pipefail

NAMESPACE=${NAMESPACE:-cameo}
NAME=cameo-secrets

if [[ "${1:-}" != "--force" ]] && kubectl get secret "$NAME" -n "$NAMESPACE" >/dev/null 2>&1; then
	echo "k8s-secrets: secret $NAMESPACE/$NAME already exists; delete it first or pass --force" >&2
	exit 1
fi

# Hex only: the values end up inside connection URLs, where other characters would need escaping.
args=(
	--from-literal=JWT_SECRET="$(openssl rand -hex 32)"
	--from-literal=SECRETS_KEY="$(openssl rand -hex 32)"
	--from-literal=DB_PASSWORD="$(openssl rand -hex 24)"
	--from-literal=RABBITMQ_PASSWORD="$(openssl rand -hex 24)"
)
for key in GOOGLE_API_KEY OPENAI_API_KEY; do
	if [[ -n "${!key:-}" ]]; then args+=(--from-literal="$key=${!key}"); fi
done

kubectl create secret generic "$NAME" -n "$NAMESPACE" "${args[@]}" --dry-run=client -o yaml
