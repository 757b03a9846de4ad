# azd postdeploy hook (Windows): creates (or updates) batchpilot's Event Grid subscriptions.
# Same steps as postdeploy.sh, which says why: Event Grid accepts an AzureFunction destination only once
# the function exists, so infra/main.bicep keeps the subscriptions behind deployEventSubscriptions
# (DEPLOY_EVENT_SUBSCRIPTIONS); this hook provisions once more with it true, then sets it back to false.
# Set BATCHPILOT_SKIP_EVENT_SUBSCRIPTIONS=true (azd env set) to skip this step.
$ErrorActionPreference = 'Stop'

if ($env:BATCHPILOT_SKIP_EVENT_SUBSCRIPTIONS -eq 'true') {
  Write-Host 'batchpilot: BATCHPILOT_SKIP_EVENT_SUBSCRIPTIONS is true; Event Grid subscriptions left as they are.'
  exit 0
}

Write-Host 'batchpilot: provisioning the Event Grid subscriptions to the deployed functions...'
azd env set DEPLOY_EVENT_SUBSCRIPTIONS true
try {
  $attempt = 1
  while ($true) {
    azd provision --no-prompt
    if ($LASTEXITCODE -eq 0) { break }
    if ($attempt -ge 3) {
      throw ("batchpilot: the Event Grid subscriptions could not be created after $attempt attempts. " +
        "Check that the functions intakeStorageEvents and intakeMlEvents are listed for the app, then run 'azd deploy' again.")
    }
    # Right after a deployment the platform may still be indexing the app's functions.
    Write-Host "batchpilot: attempt $attempt failed; trying again in 60 seconds."
    $attempt++
    Start-Sleep -Seconds 60
  }
}
finally {
  azd env set DEPLOY_EVENT_SUBSCRIPTIONS false | Out-Null
}

$values = azd env get-values --output json | ConvertFrom-Json
Write-Host "batchpilot: Event Grid subscriptions are in place. App: $($values.SERVICE_API_URI)"
