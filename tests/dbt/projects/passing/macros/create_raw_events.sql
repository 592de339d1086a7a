{% macro create_raw_events() %}
  create schema if not exists {{ target.schema }};
  create table if not exists {{ target.schema }}.raw_events as
  select * from (values
      (1, 1, 'page_view', timestamp '2024-01-01 10:00:00'),
      (2, 1, 'add_to_cart', timestamp '2024-01-01 10:05:00'),
      (3, 2, 'page_view', timestamp '2024-01-02 09:00:00'),
      (4, 3, 'checkout', timestamp '2024-01-03 12:30:00')
  ) as t(event_id, customer_id, event_type, occurred_at)
{% endmacro %}

{% macro cents_to_dollars(column_name) %}
  ({{ column_name }} / 100.0)::decimal(12, 2)
{% endmacro %}
