import RunLog
