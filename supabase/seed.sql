-- Local development seed: nothing required; plans are created by the migrations.
select 1;
