-- The API's role follows the routes as they are now: reads check ownership without counting
-- (gateway.api_read), session commands and webhook test/redeliver go through their rate-limited
-- functions, and base64 uploads register their media object. The functions the routes stopped
-- calling directly are withdrawn from gateway_api and run as their caller again.
select private.expose_to_api(f::regprocedure) from unnest(array[
  'gateway.api_read(uuid, uuid)',
  'gateway.api_session_command(uuid, uuid, text, boolean, integer, integer)',
  'gateway.api_test_webhook(uuid, uuid, integer, integer)',
  'gateway.api_redeliver(uuid, uuid, uuid, integer, integer)',
  'gateway.register_media(uuid, text, text, bigint)'
]) as f;

revoke execute on function gateway.api_call(uuid, uuid) from gateway_api;
revoke execute on function gateway.test_webhook_endpoint(uuid, uuid) from gateway_api;
revoke execute on function gateway.redeliver(uuid, uuid) from gateway_api;
alter function gateway.api_call(uuid, uuid) security invoker;
alter function gateway.test_webhook_endpoint(uuid, uuid) security invoker;
alter function gateway.redeliver(uuid, uuid) security invoker;
