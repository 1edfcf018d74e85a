-- Live pre-annotation: the project's OpenAI-compatible transcription server
-- (`POST {asr_url}/v1/audio/transcriptions`), the model to ask for, an optional language
-- hint and bearer key. The key is never sent back by the API.
ALTER TABLE project ADD COLUMN asr_url TEXT;
ALTER TABLE project ADD COLUMN asr_model TEXT;
ALTER TABLE project ADD COLUMN asr_language TEXT;
ALTER TABLE project ADD COLUMN asr_api_key TEXT;
