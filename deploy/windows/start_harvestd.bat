@echo off
rem harvestd launcher for Windows 10 and 11 (deploy\windows\README.md).
rem
rem Keep this file in one folder with harvestd.exe (the release file harvestd-windows-x64.exe,
rem renamed) and config.toml; double-click it or run it from a console. The data folders of
rem config.toml (data\raw, data\ndjson, ...) are relative to this folder.
rem
rem Ctrl-C stops harvestd: everything collected is written first, then it exits 0 (cmd then asks
rem "Terminate batch job (Y/N)?": either answer is fine, harvestd has already finished).
setlocal
cd /d "%~dp0"

if not exist "harvestd.exe" (
  echo harvestd.exe is not in %~dp0: rename harvestd-windows-x64.exe to harvestd.exe and put it here.
  pause
  exit /b 1
)

if not exist "config.toml" (
  harvestd.exe config > config.toml
  echo No config.toml here: wrote the default one to %~dp0config.toml. Edit it, then start again.
  pause
  exit /b 78
)

rem A configuration mistake is listed here, once, instead of failing after start-up.
harvestd.exe validate --config config.toml
if errorlevel 1 (
  pause
  exit /b 78
)

harvestd.exe run --config config.toml %*
set HARVESTD_EXIT=%ERRORLEVEL%
if not "%HARVESTD_EXIT%"=="0" (
  echo harvestd exited with code %HARVESTD_EXIT%: see the lines above and data\artifacts\run_logs.
  pause
)
exit /b %HARVESTD_EXIT%
