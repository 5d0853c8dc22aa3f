-- wrk script of scripts/bench: a POST shaped like slawatch's webhook (JSON body, Standard Webhooks headers).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json; charset=utf-8"
wrk.headers["webhook-id"] = "msg_slawatch_1"
wrk.headers["webhook-timestamp"] = "1774364400"
wrk.headers["webhook-signature"] = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
wrk.body = "{\"type\": \"sla.breached\", \"timestamp\": \"2026-03-24T15:00:00Z\", \"data\": {\"event_id\": \"01a21000-6885-70c5-88d1-5bc723071184/sla.breached/0/7200000000\", \"kind\": \"sla.breached\", \"level\": 0, \"crossed_at\": \"2026-03-24T14:00:00Z\", \"ticket_uuid\": \"01a21000-6885-70c5-88d1-5bc723071184\", \"label\": \"TKT-2026-00001\", \"title\": \"No puedo acceder al correo electrónico - sede Centro\", \"prioridad_nom\": \"CRITICA\", \"estado_code\": \"EN_PROCESO\", \"area_asignada\": \"TECNOLOGIA\", \"sla_horas\": 2, \"horas_restantes\": -1e-06, \"due_at\": \"2026-03-24T14:00:00Z\"}}"
