#!/bin/sh
# azd postdeploy hook: creates (or updates) batchpilot's Event Grid subscriptions.
#
# Event Grid accepts a subscription with an AzureFunction destination only if that function exists,
# and the functions exist only once `azd deploy` has published the code. So infra/main.bicep keeps the
# subscriptions behind the deployEventSubscriptions parameter (DEPLOY_EVENT_SUBSCRIPTIONS, false by
# default) and this hook provisions once more with it true, then sets it back to false: a new
# environment, or one after `azd down`, must provision without subscriptions before its code exists.
# Provisioning is incremental, so later provisions with the flag off leave the subscriptions in place.
# (The flag goes through the azd environment because a value saved there would win over this
# process's environment.)
#
# Set BATCHPILOT_SKIP_EVENT_SUBSCRIPTIONS=true (azd env set) to skip this step.
set -eu

if [ "${BATCHPILOT_SKIP_EVENT_SUBSCRIPTIONS:-false}" = "true" ]; then
  echo "batchpilot: BATCHPILOT_SKIP_EVENT_SUBSCRIPTIONS is true; Event Grid subscriptions left as they are."
  exit 0
fi

# Reads KEY from the azd environment (dotenv lines KEY="value"); empty when absent.
azd_env_value() {
  azd env get-values | sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p"
}

trap 'azd env set DEPLOY_EVENT_SUBSCRIPTIONS false >/dev/null 2>&1 || true' EXIT
azd env set DEPLOY_EVENT_SUBSCRIPTIONS true

echo "batchpilot: provisioning the Event Grid subscriptions to the deployed functions..."
attempt=1
while :; do
  if azd provision --no-prompt; then
    break
  fi
  if [ "$attempt" -ge 3 ]; then
    echo "batchpilot: the Event Grid subscriptions could not be created after $attempt attempts." >&2
    echo "batchpilot: check that the functions intakeStorageEvents and intakeMlEvents are listed for the app, then run 'azd deploy' again." >&2
    exit 1
  fi
  # Right after a deployment the platform may still be indexing the app's functions.
  echo "batchpilot: attempt $attempt failed; trying again in 60 seconds."
  attempt=$((attempt + 1))
  sleep 60
done

echo "batchpilot: Event Grid subscriptions are in place. App: $(azd_env_value SERVICE_API_URI)"
