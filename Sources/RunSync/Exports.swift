@_exported import RunLog
