# Installs harvestd as a Windows service with NSSM (https://nssm.cc, one nssm.exe, public domain),
# which runs a console program as a service and stops it the way harvestd needs: Ctrl-C first,
# so everything collected is flushed, then a hard stop only if it has not exited in time.
#
# Run in an elevated PowerShell, in the folder holding harvestd.exe and config.toml:
#   powershell -ExecutionPolicy Bypass -File install-service.ps1 [-Name harvestd] [-Nssm C:\path\nssm.exe]
# Remove: nssm stop harvestd; nssm remove harvestd confirm
param(
  [string]$Name = "harvestd",
  [string]$Nssm = "nssm.exe",
  # Must exceed shutdown_timeout_sec of config.toml (default 30).
  [int]$StopTimeoutSec = 45
)
$ErrorActionPreference = "Stop"
$dir = (Get-Location).Path
$exe = Join-Path $dir "harvestd.exe"
$config = Join-Path $dir "config.toml"
foreach ($f in @($exe, $config)) { if (-not (Test-Path $f)) { throw "$f not found: run this in the folder holding harvestd.exe and config.toml" } }
if (-not (Get-Command $Nssm -ErrorAction SilentlyContinue)) { throw "nssm.exe not found: download it from https://nssm.cc and pass -Nssm C:\path\nssm.exe" }

# A configuration mistake is reported now, not as a service that keeps failing.
& $exe validate --config $config
if ($LASTEXITCODE -ne 0) { throw "config.toml is not valid (exit $LASTEXITCODE): fix it first" }

$logs = Join-Path $dir "data\service-logs"
New-Item -ItemType Directory -Force -Path $logs | Out-Null

& $Nssm install $Name $exe run --config $config
& $Nssm set $Name AppDirectory $dir
& $Nssm set $Name Description "harvestd: Binance USD-M futures order-flow collector"
& $Nssm set $Name Start SERVICE_DELAYED_AUTO_START
& $Nssm set $Name AppStdout (Join-Path $logs "harvestd.out.log")
& $Nssm set $Name AppStderr (Join-Path $logs "harvestd.err.log")
& $Nssm set $Name AppRotateFiles 1
& $Nssm set $Name AppRotateBytes 104857600
# Stop: Ctrl-C, then wait up to StopTimeoutSec for the flush; skip WM_CLOSE (2) and WM_QUIT (4),
# which a console program does not get; TerminateProcess only after the wait.
& $Nssm set $Name AppStopMethodSkip 6
& $Nssm set $Name AppStopMethodConsole ($StopTimeoutSec * 1000)
& $Nssm set $Name AppKillProcessTree 1
# Exit 0 (run_hours elapsed) and 78 / 2 (configuration, usage) are final; anything else restarts.
& $Nssm set $Name AppExit Default Restart
& $Nssm set $Name AppExit 0 Exit
& $Nssm set $Name AppExit 78 Exit
& $Nssm set $Name AppExit 2 Exit
& $Nssm set $Name AppRestartDelay 5000

Write-Host "installed service $Name; start it with: nssm start $Name   (or: Start-Service $Name)"
